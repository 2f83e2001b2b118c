"""Calls that go on while a deployment changes under them: what a redeploy, a rollback or a
restart must not break. Every versions test of every strategy watches its switch with one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

Envelope = dict[str, Any]


class SteadyCalls:
    """Calls `call()` back to back in a thread of its own, as a client of a live service would,
    keeping every answer until the `with` block ends. An exception is kept as an error envelope,
    so a call that raised counts as failed rather than ending the stream of calls."""

    def __init__(self, call: Callable[[], Envelope], pause: float = 0.0) -> None:
        self.call = call
        self.pause = pause
        self.results: list[Envelope] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._done.is_set():
            try:
                self.results.append(self.call())
            except Exception as exc:  # counted as a failed call, and the calls go on
                self.results.append({"status": "error", "error": repr(exc)})
            if self.pause:
                time.sleep(self.pause)

    def __enter__(self) -> SteadyCalls:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(60)

    def failed(self) -> list[Envelope]:
        return [r for r in self.results if r.get("status") != "success"]

    def outputs(self) -> list[Any]:
        return [r["output"] for r in self.results if r.get("status") == "success"]
