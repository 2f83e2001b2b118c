"""target=local: the generated `modal_app.py` imported in this process and its function (or
class, load step included) called with `.local()`. No Modal account needed."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from deployer.plugin import (
    DeployerError,
    DeployFailedError,
    RunnerContext,
    failure,
    one_line,
    success,
)
from deployer_modal import sdk, workspace
from deployer_modal.sdk import CLASS_NAME, FUNCTION_NAME
from deployer_modal.targets.common import ModalRunner


class ModalLocalRunner(ModalRunner):
    """The app's entry point called in-process; in-process calls write to the caller's own
    output, so there are no logs to show."""

    def __init__(self, context: RunnerContext, state: dict[str, Any] | None = None) -> None:
        super().__init__(context, state)
        self._lock = threading.Lock()
        self._module: ModuleType | None = None
        self._call: Callable[[dict[str, Any]], Any] | None = None

    @property
    def target(self) -> str:
        return "local"

    @property
    def provider(self) -> str | None:
        return "local"

    def deploy(self) -> None:
        self._unload()
        workspace.prepare(self.context)
        self.state = {"target": "local", "running": True}
        self._ensure_loaded()

    def stop(self) -> None:
        self._unload()
        self.mark_stopped()

    def call(self, inputs: dict[str, Any]) -> dict[str, Any]:
        try:
            entry = self._ensure_loaded()
        except DeployerError as exc:
            return failure(str(exc))
        try:
            return success(entry(inputs))
        except (Exception, SystemExit) as exc:
            return failure(f"{type(exc).__name__}: {exc}")

    def healthy(self) -> bool:
        self._ensure_loaded()
        return True

    def _ensure_loaded(self) -> Callable[[dict[str, Any]], Any]:
        """Import the generated app and run the load step once; return the call."""
        with self._lock:
            if self._call is None:
                os.environ.update(self.context.env)  # secrets reach the solution as env vars
                module = sdk.load_app(self.context.adapted_path)
                try:
                    self._call = _local_call(module)
                except Exception as exc:
                    sdk.unload(module)
                    raise DeployFailedError(
                        f"loading {self.context.run_interface.entrypoint} failed: {one_line(exc)}",
                        hint=sdk.where(exc, self.context.adapted_path),
                    ) from None
                self._module = module
                self.state["variant"] = "cls" if module.CLASS_VARIANT else "function"
            return self._call

    def _unload(self) -> None:
        with self._lock:
            sdk.unload(self._module)
            self._module, self._call = None, None


def _local_call(module: ModuleType) -> Callable[[dict[str, Any]], Any]:
    """The generated app's entry point called with `.local()`, its load step run once now."""
    if module.CLASS_VARIANT:
        instance = getattr(module, CLASS_NAME)()
        instance.warm.local()  # @modal.enter() runs the load step before the first method
        method = instance.run
        return method.local
    module.entry()  # import the entry module now, not on the first call
    return getattr(module, FUNCTION_NAME).local
