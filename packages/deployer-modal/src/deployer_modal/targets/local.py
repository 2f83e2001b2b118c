"""target=local: the generated `modal_app.py` imported in this process and its function (or
class, load step included) called with `.local()`: `run`, the generator `stream` read item by
item, and the input schema the serving runtime reads. No Modal account needed."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from deployer.plugin import (
    DeployerError,
    DeployFailedError,
    RunnerContext,
    failure,
    one_line,
    raised_at,
    success,
)
from deployer_modal import sdk, workspace
from deployer_modal.sdk import CLASS_NAME, FUNCTION_NAME
from deployer_modal.targets.common import ModalRunner, raised

STOPPED_MARK = "stopped"


@dataclass(frozen=True)
class LocalCalls:
    """The generated app's entry points, each called with `.local()` (the load step done)."""

    run: Callable[[dict[str, Any]], Any]
    stream: Callable[[dict[str, Any]], Iterator[dict[str, Any]]]
    schema: Callable[[], Any]


class ModalLocalRunner(ModalRunner):
    """The app's entry point called in-process; in-process calls write to the caller's own
    output, so there are no logs to show."""

    def __init__(self, context: RunnerContext, state: dict[str, Any] | None = None) -> None:
        super().__init__(context, state)
        self._lock = threading.Lock()
        self._module: ModuleType | None = None
        self._calls: LocalCalls | None = None

    @property
    def target(self) -> str:
        return "local"

    @property
    def provider(self) -> str | None:
        return "local"

    @property
    def stopped_mark(self) -> Path:
        """Left in the version's runtime directory by stop(). The app lives in each caller's
        process, so a stop from another runner (core replacing this version with a new one,
        `deployer stop` in another process) reaches the runners that hold it only this way:
        their next call finds it and answers "stopped" (and a handle follows the name)."""
        return self.context.runtime_dir / STOPPED_MARK

    def deploy(self) -> None:
        self._unload()
        workspace.prepare(self.context)
        self.state = {"target": "local", "running": True}
        self._ensure_loaded()
        self.stopped_mark.unlink(missing_ok=True)

    def stop(self) -> None:
        self._unload()
        self.mark_stopped()
        if self.stopped_mark.parent.is_dir():
            self.stopped_mark.touch()

    def running(self) -> bool:
        if not super().running():
            return False
        if self.stopped_mark.exists():
            self._unload()  # stopped by another runner: let go of the app here too
            self.mark_stopped()
            return False
        return True

    def healthy(self) -> bool:
        self._ensure_loaded()
        return True

    def call(self, inputs: dict[str, Any]) -> dict[str, Any]:
        try:
            calls = self._ensure_loaded()
        except DeployerError as exc:
            return failure(str(exc))
        try:
            return success(calls.run(inputs))
        except (Exception, SystemExit) as exc:
            return raised(exc)

    def call_stream(self, inputs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        try:
            calls = self._ensure_loaded()
        except DeployerError as exc:
            yield failure(str(exc))
            return
        try:
            yield from calls.stream(inputs)
        except (Exception, SystemExit) as exc:  # the generator itself never raises: Modal may
            yield raised(exc)

    def schema(self) -> dict[str, Any] | None:
        """The input schema the serving runtime reads from the loaded entry point."""
        try:
            found = self._ensure_loaded().schema()
        except Exception:
            return super().schema()
        return found if isinstance(found, dict) else None

    def _ensure_loaded(self) -> LocalCalls:
        """Import the generated app and run the load step once; return its calls."""
        with self._lock:
            if self._calls is None:
                os.environ.update(self.context.env)  # secrets reach the solution as env vars
                module = sdk.load_app(self.context.adapted_path)
                try:
                    self._calls = _local_calls(module)
                except Exception as exc:
                    sdk.unload(module)
                    raise DeployFailedError(
                        f"loading {self.context.run_interface.entrypoint} failed: {one_line(exc)}",
                        hint=raised_at(exc, self.context.adapted_path),
                    ) from None
                self._module = module
                self.state["variant"] = "cls" if module.CLASS_VARIANT else "function"
            return self._calls

    def _unload(self) -> None:
        with self._lock:
            sdk.unload(self._module)
            self._module, self._calls = None, None


def _local_calls(module: ModuleType) -> LocalCalls:
    """The generated app's entry points called with `.local()`, its load step run once now."""
    if module.CLASS_VARIANT:
        instance = getattr(module, CLASS_NAME)()
        instance.warm.local()  # @modal.enter() runs the load step before the first method
        return LocalCalls(instance.run.local, instance.stream.local, instance.schema.local)
    module.entry()  # import the entry module now, not on the first call
    return LocalCalls(getattr(module, FUNCTION_NAME).local, module.stream.local, module.schema)
