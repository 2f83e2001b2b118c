"""mode=inprocess: the entry point imported into the caller's process and called directly.

Each load imports the entry module under a unique name (not `main`), so two deployments whose
entry modules share a file name do not replace each other in `sys.modules`. A runner
reattached from state imports the entry point again on first use.

Imports and calls run inside `scope.borrowed`: the workspace is the working directory and the
solution's output goes to the deployment's log (`inprocess.log` in its runtime dir). The
import is bounded by the startup timeout, each call by the run timeout (see scope.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import importlib
import importlib.machinery
import importlib.util
import inspect
import os
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from deployer.plugin import (
    DeployFailedError,
    Runner,
    RunnerContext,
    RunnerStatus,
    failure,
    one_line,
    plain,
    raised_at,
    read_tail,
    success,
    validator_for,
)
from deployer_local.targets.scope import CallTimedOut, WorkspaceBusyError, borrowed, within

LOG_NAME = "inprocess.log"


class LocalInProcessRunner(Runner):
    """Runner of `local` with mode=inprocess."""

    def __init__(self, context: RunnerContext, state: dict[str, Any] | None = None) -> None:
        super().__init__(context, state)
        self._function: Callable[..., Any] | None = None
        self._alias: str | None = None
        self._load_lock = threading.Lock()

    def deploy(self) -> None:
        self.state = {"mode": "inprocess", "running": True}
        self._ensure_loaded()

    def start(self) -> None:
        self.deploy()

    def stop(self) -> None:
        unload(self._alias)
        self._function, self._alias = None, None
        if self.state:
            self.state["running"] = False

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        prepared = self._prepare_call(inputs)
        if isinstance(prepared, dict):
            return prepared
        function, inputs = prepared
        interface = self.context.run_interface
        return call(
            function,
            interface.calling_convention,
            inputs,
            interface.entrypoint,
            timeout=self.context.run_timeout,
            scope=self._scope,
        )

    def stream(self, inputs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        prepared = self._prepare_call(inputs)
        if isinstance(prepared, dict):
            yield prepared
            return
        function, inputs = prepared
        interface = self.context.run_interface
        yield from stream_call(
            function,
            interface.calling_convention,
            inputs,
            interface.entrypoint,
            timeout=self.context.run_timeout,
            scope=self._scope,
        )

    def _prepare_call(
        self, inputs: Any
    ) -> tuple[Callable[..., Any], dict[str, Any]] | dict[str, Any]:
        """The loaded function and the validated inputs, or the error envelope saying why
        there is no call: not an object, stopped, not importable, or invalid input."""
        if not isinstance(inputs, dict):
            return failure(f"inputs must be a JSON object, got {type(inputs).__name__}")
        if self.state.get("running") is False:
            name = self.context.name
            return failure(
                f"deployment {name} is not running (it was stopped); "
                f"start it with `deployer start {name}`"
            )
        try:
            function = self._ensure_loaded()
        except DeployFailedError as exc:
            return failure(str(exc))
        if self.context.run_interface.calling_convention == "kwargs":
            try:
                inputs = checked_inputs(function, inputs)
            except ValueError as exc:  # the runtime's InputError, naming the field
                field = getattr(exc, "field", "")
                return {**failure(f"invalid input: {exc}"[:1000]), "field": field}
        return function, inputs

    def is_healthy(self) -> bool:
        try:
            if self.state.get("running") is False:
                return False
            self._ensure_loaded()
            return True
        except Exception:
            return False

    def status(self) -> RunnerStatus:
        return "stopped" if self.state.get("running") is False else super().status()

    @property
    def log_path(self) -> Path:
        return self.context.runtime_dir / LOG_NAME

    def logs(self, tail: int | None = None) -> str:
        """What the solution printed while importing and during calls."""
        return read_tail(self.log_path, tail)

    def _scope(self) -> contextlib.AbstractContextManager[None]:
        return borrowed(self.context.adapted_path, self.log_path, self.context.run_timeout)

    def close(self) -> None:
        """Nothing to release: there is no connection."""

    def _ensure_loaded(self) -> Callable[..., Any]:
        with self._load_lock:
            if self._function is None:
                os.environ.update(self.context.env)  # secrets reach the solution as env vars
                workspace = self.context.adapted_path
                entrypoint = self.context.run_interface.entrypoint
                if not workspace.is_dir():
                    raise DeployFailedError(
                        f"the adapted workspace {workspace} is missing",
                        hint="deploy again so the workspace is adapted afresh",
                    )
                seconds = self.context.startup_timeout
                try:
                    self._function, self._alias = within(
                        seconds, lambda: load_function(workspace, entrypoint), self._scope
                    )
                except CallTimedOut:
                    raise DeployFailedError(
                        f"importing {entrypoint} took longer than the startup timeout "
                        f"({seconds:g}s) and was stopped",
                        hint="raise it with --startup-timeout, or make the import faster",
                    ) from None
                except (WorkspaceBusyError, OSError) as exc:
                    raise DeployFailedError(f"importing {entrypoint} failed: {exc}") from None
            return self._function


PREFIX = "_deployer_local_"


def load_function(workspace: Path, entrypoint: str) -> tuple[Callable[..., Any], str]:
    """Import `module:function` from `workspace`; return the function and the alias used.

    The workspace is on sys.path while importing, so the entry module's sibling imports work.
    """
    module_name, _, function_name = entrypoint.partition(":")
    alias = f"{PREFIX}{uuid.uuid4().hex[:12]}"
    root = str(workspace)
    added = root not in sys.path
    if added:
        sys.path.insert(0, root)
    try:
        module = _import_aliased(workspace, module_name, alias)
        function = getattr(module, function_name, None)
        if not callable(function):
            raise AttributeError(f"module {module_name!r} has no function {function_name!r}")
    except BaseException as exc:
        unload(alias)
        if isinstance(exc, SystemExit):  # deploy fails; it must not end the caller's process
            raise DeployFailedError(
                f"importing {entrypoint} failed: the module called sys.exit({exc.code!r})",
                hint=raised_at(exc, workspace) or "an entry module must not exit when imported",
            ) from None
        if not isinstance(exc, Exception):
            raise
        raise DeployFailedError(
            f"importing {entrypoint} failed: {one_line(exc)}", hint=raised_at(exc, workspace)
        ) from None
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(root)
    return function, alias


def _import_aliased(workspace: Path, module_name: str, alias: str) -> ModuleType:
    top, *rest = module_name.split(".")
    single = workspace / f"{top}.py"
    package = workspace / top
    if not rest and single.is_file():
        spec = importlib.util.spec_from_file_location(alias, single)
    elif package.is_dir():
        init = package / "__init__.py"
        if init.is_file():
            spec = importlib.util.spec_from_file_location(
                alias, init, submodule_search_locations=[str(package)]
            )
        else:  # namespace package
            spec = importlib.machinery.ModuleSpec(alias, None, is_package=True)
            spec.submodule_search_locations = [str(package)]
    else:
        raise ModuleNotFoundError(f"No module named {module_name!r} in {workspace}")
    if spec is None:
        raise ImportError(f"cannot import {module_name!r} from {workspace}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    if spec.loader is not None:
        spec.loader.exec_module(module)
    if rest:
        module = importlib.import_module(".".join([alias, *rest]))
    return module


def unload(alias: str | None) -> None:
    """Forget a loaded entry module (and its submodules) so a new load starts fresh."""
    if not alias:
        return
    for name in [n for n in sys.modules if n == alias or n.startswith(f"{alias}.")]:
        sys.modules.pop(name, None)


_validator = functools.lru_cache(maxsize=64)(validator_for)


def checked_inputs(function: Callable[..., Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs checked and converted against the function's annotations, exactly as the
    serving runtime does before a call (one validator for both targets)."""
    validator = _validator(function)
    return inputs if validator is None else validator(inputs)


@functools.lru_cache(maxsize=64)
def _signature(function: Callable[..., Any]) -> inspect.Signature:
    """Computed once per function: inspect.signature costs ~20 us, too much for every call."""
    return inspect.signature(function)


def argument_problem(
    function: Callable[..., Any], convention: str, inputs: dict[str, Any], label: str = ""
) -> str:
    """Why `inputs` cannot be passed to `function`, naming the parameters it expects."""
    try:
        signature = _signature(function)
    except (TypeError, ValueError):
        return ""
    try:
        if convention == "dict":
            signature.bind(inputs)
        else:
            signature.bind(**inputs)
    except TypeError as exc:
        expected = ", ".join(signature.parameters) or "none"
        given = ", ".join(sorted(inputs)) or "none"
        return (
            f"inputs do not match {label or 'the entry point'}: {exc} "
            f"(expected parameters: {expected}; input keys given: {given})"
        )
    return ""


def call(
    function: Callable[..., Any],
    convention: str,
    inputs: dict[str, Any],
    label: str = "",
    *,
    timeout: float | None = None,
    scope: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext,
) -> dict[str, Any]:
    """Call with the calling convention inside `scope()`, at most `timeout` seconds, and wrap
    the outcome in the result envelope."""
    problem = argument_problem(function, convention, inputs, label)
    if problem:
        return failure(problem)

    def invoke() -> Any:
        result = _result(function, convention, inputs)
        if inspect.isgenerator(result):
            result = list(result)  # as process mode answers POST /run for a generator
        return result

    try:
        result = _step(invoke, timeout, scope)
    except (CallTimedOut, Exception, SystemExit) as exc:
        return _call_failed(exc, label, "raise the limit with --run-timeout")
    return _encoded(result, label)


def _result(function: Callable[..., Any], convention: str, inputs: dict[str, Any]) -> Any:
    """What the entry point returns for `inputs`: awaited when awaitable, an async generator's
    items collected into a list (a plain generator is left to the caller)."""
    result = function(inputs) if convention == "dict" else function(**inputs)
    if inspect.isawaitable(result):
        result = run_awaitable(result)
    if inspect.isasyncgen(result):
        result = run_awaitable(_collect(result))
    return result


def _step(
    action: Callable[[], Any],
    timeout: float | None,
    scope: Callable[[], contextlib.AbstractContextManager[None]],
) -> Any:
    """`action()` inside `scope()`, within `timeout` seconds when there is one."""
    if timeout is None:
        with scope():
            return action()
    return within(timeout, action, scope)


def _call_failed(exc: BaseException, label: str, timeout_hint: str) -> dict[str, Any]:
    """The error envelope for what a call raised (an overrun, a busy workspace, its own error)."""
    if isinstance(exc, CallTimedOut):
        return failure(f"the call of {label or 'the entry point'} {exc} ({timeout_hint})")
    if isinstance(exc, WorkspaceBusyError):
        return failure(str(exc))
    return failure(f"{type(exc).__name__}: {exc}")


def _encoded(result: Any, label: str) -> dict[str, Any]:
    """The output as process mode would send it: the runtime's own encoder (numpy, bytes,
    dataclasses, pydantic models), so both targets answer the same."""
    try:
        return success(plain(result))
    except ValueError as exc:
        what = label or "the entry point"
        return failure(f"the output of {what} cannot be sent as JSON: {exc}")


async def _collect(items: Any) -> list[Any]:
    return [item async for item in items]


def stream_call(
    function: Callable[..., Any],
    convention: str,
    inputs: dict[str, Any],
    label: str = "",
    *,
    timeout: float | None = None,
    scope: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext,
) -> Iterator[dict[str, Any]]:
    """Items of a generator entry point as it yields them (`{"status": "item", ...}` each,
    then `{"status": "success"}`), or the error at the point it raised. Each step of the
    generator runs inside `scope()` (the workspace as cwd, output to the log) and within
    `timeout`; the items are handed to the caller outside it, so its own printing is its own."""
    problem = argument_problem(function, convention, inputs, label)
    if problem:
        yield failure(problem)
        return

    def start() -> Iterator[Any]:
        result = _result(function, convention, inputs)
        # a generator streams its items; any other result is the one item
        return result if inspect.isgenerator(result) else iter([result])

    done = object()
    try:
        items = _step(start, timeout, scope)
        while (item := _step(lambda: next(items, done), timeout, scope)) is not done:
            encoded = _encoded(item, label)
            if encoded["status"] != "success":
                yield encoded
                return
            yield {"status": "item", "output": encoded["output"]}
    except (CallTimedOut, Exception, SystemExit) as exc:
        yield _call_failed(exc, label, "raise --run-timeout")
        return
    yield {"status": "success"}


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def run_awaitable(awaitable: Awaitable[Any]) -> Any:
    """Run a coroutine to completion, also when the caller is itself inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(awaitable))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _await(awaitable)).result()
