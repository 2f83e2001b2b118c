"""The runtime's loader for hosts that serve requests themselves (BentoML, LangGraph, Modal).

A strategy whose platform owns the server copies this runtime into the workspace (as the
top-level `deployer_runtime`, beside `deployer_entry.json`) and, in its generated wrapper,
loads the entry point through here instead of calling a plain function::

    from deployer_runtime.embedded import load

    entry = load(HERE)  # imports, instantiates and runs setup()/load() once
    output = entry(inputs)  # validated, called, awaited/collected, as a JSON value

So every entry kind the local server runs (classes, graphs, web apps, Modal and Gradio
objects) runs the same way inside those platforms: one loader, not one per wrapper.
Standard library only, like the rest of the runtime.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import pathlib
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from . import SPEC_FILE, aio, encode
from .encode import EncodeError
from .loader import Entry, ImportFailed, LoadError, resolve
from .schema import InputError
from .spec import EntrySpec, read_spec


class BadInput(ValueError):
    """The inputs do not fit the entry point; `field` names the one at fault, if known."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Loaded:
    """A resolved entry point, started once, called with JSON objects."""

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self.validate = entry.validator()
        self._call: Callable[[Any], Any] | None = None
        self._stream: Callable[[Any], Any] | None = None
        self._lock = threading.Lock()

    @property
    def kind(self) -> str:
        return self.entry.kind

    @property
    def entrypoint(self) -> str:
        return self.entry.spec.entrypoint

    def start(self) -> Loaded:
        """Instantiate and run the setup steps (once; later calls return at once)."""
        with self._lock:
            if self._call is None:
                starter = self.entry.starter
                if starter is None:
                    raise RuntimeError(f"{self.entrypoint} has nothing to call")
                self._call = starter()
                self._stream = self.entry.streamer() if self.entry.streamer else None
        return self

    def arguments(self, inputs: Any) -> Any:
        """`inputs` checked and converted into what the entry point takes."""
        if not isinstance(inputs, dict):
            raise BadInput(f"inputs must be a JSON object, got {type(inputs).__name__}")
        try:
            return self.validate(inputs)
        except InputError as exc:
            raise BadInput(f"invalid input: {exc}", field=exc.field) from None

    def call(self, inputs: Any) -> Any:
        """The entry point's answer to `inputs`, as it returned it (awaited, collected)."""
        arguments = self.arguments(inputs)
        call = self.start()._call
        assert call is not None
        return complete(call(arguments))

    def __call__(self, inputs: Any) -> Any:
        """The entry point's answer to `inputs`, as a JSON value (encode's rules)."""
        return to_json(self.call(inputs))

    def stream(self, inputs: Any) -> Iterator[Any]:
        """The answer item by item (a graph's updates, a generator's items; else one item)."""
        arguments = self.arguments(inputs)
        self.start()
        call = self._stream or self._call
        assert call is not None
        result = call(arguments)
        if _is_awaiting(result):
            result = aio.run(result.run())
        for item in _items(result):
            yield to_json(item)

    def input_schema(self) -> dict[str, Any]:
        return self.entry.input_schema()


def load(
    workspace: str | pathlib.Path | None = None,
    *,
    spec: EntrySpec | None = None,
    entrypoint: str | None = None,
    kind: str | None = None,
    start: bool = True,
) -> Loaded:
    """Resolve the entry point of `workspace/deployer_entry.json` (or `spec`), started.

    `workspace` goes on sys.path (the working directory is left alone: the host owns it);
    `entrypoint` replaces the spec's, e.g. with the module under another name; `kind` its
    entry kind, when the host was told to take it otherwise (a graph factory called as a plain
    function). Raises the loader's LoadError/ImportFailed, or whatever the solution's setup
    raises.
    """
    root = pathlib.Path(workspace).resolve() if workspace is not None else None
    if root is not None and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    if spec is None:
        if root is None:
            raise ValueError("load() needs a workspace or a spec")
        spec = read_spec(root / SPEC_FILE)
    if entrypoint:
        spec = dataclasses.replace(spec, entrypoint=entrypoint)
    if kind:
        spec = dataclasses.replace(spec, entry_kind=kind)
    loaded = Loaded(resolve(spec))
    return loaded.start() if start else loaded


def read_kind(workspace: str | pathlib.Path) -> str:
    """The entry kind the spec names, read without importing anything ("function" if none)."""
    try:
        data = json.loads((pathlib.Path(workspace) / SPEC_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "function"
    kind = data.get("entry_kind") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) and kind else "function"


def to_json(value: Any) -> Any:
    """`value` as plain JSON data, serialised by the runtime's rules (EncodeError if it
    cannot be: NaN, an unknown type)."""
    return json.loads(encode.dumps(value))


def complete(result: Any) -> Any:
    """A call's result as a value: coroutines run on the shared loop, generators collected."""
    if _is_awaiting(result):
        result = aio.run(result.run())
    if inspect.isasyncgen(result) or isinstance(result, AsyncIterator):
        return aio.run(aio.collect(result))
    if inspect.isgenerator(result) or isinstance(result, Iterator):
        return list(result)
    return result


def _is_awaiting(result: Any) -> bool:
    return type(result).__name__ == "_Awaiting" and hasattr(result, "run")


def _items(result: Any) -> Iterator[Any]:
    if inspect.isasyncgen(result) or isinstance(result, AsyncIterator):
        iterator = result.__aiter__()
        while (item := aio.run(aio.next_item(iterator))) is not aio.END:
            yield item
    elif inspect.isgenerator(result) or isinstance(result, Iterator):
        yield from result
    else:
        yield result


__all__ = [
    "BadInput",
    "EncodeError",
    "ImportFailed",
    "LoadError",
    "Loaded",
    "complete",
    "load",
    "read_kind",
    "to_json",
]
