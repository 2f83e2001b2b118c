"""One asyncio event loop in a thread of its own, shared by async entry points and ASGI apps.

Request threads hand coroutines to it and wait on a concurrent future, so a coroutine that
runs past the timeout can be cancelled (what a thread cannot be).
"""

from __future__ import annotations

import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # asyncio itself loads on first use: a sync entry point never pays for it
    import asyncio
    from concurrent.futures import Future

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def loop() -> asyncio.AbstractEventLoop:
    """The shared loop, started on first use."""
    import asyncio

    global _loop
    with _lock:
        if _loop is None:
            created = asyncio.new_event_loop()
            thread = threading.Thread(
                target=created.run_forever, name="deployer-runtime-asyncio", daemon=True
            )
            thread.start()
            _loop = created
        return _loop


def submit(coroutine: Coroutine[Any, Any, Any]) -> Future[Any]:
    """Schedule `coroutine` on the shared loop; cancel the returned future to cancel it."""
    import asyncio

    return asyncio.run_coroutine_threadsafe(coroutine, loop())


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run `coroutine` on the shared loop and wait for its result."""
    return submit(coroutine).result()


END = object()  # what `next_item` returns once an async iterator is exhausted


async def next_item(iterator: Any) -> Any:
    """The next item of an async iterator, or END."""
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return END


async def collect(items: Any) -> list[Any]:
    """Every item of an async iterable, as a list."""
    return [item async for item in items]
