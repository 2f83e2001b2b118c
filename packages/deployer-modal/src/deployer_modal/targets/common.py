"""What the two targets share: the running flag in the state, the input checks of run()
and stream(), status and readiness, the error envelope of a call that raised, and "start"
meaning "deploy again" (Modal keeps no stopped app to resume)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deployer.plugin import Readiness, Runner, RunnerStatus, failure


class ModalRunner(Runner):
    """Base of the `modal` strategy's runners; each target implements `call` and `healthy`."""

    @property
    def target(self) -> str:
        """The value of the `target` option this class serves (kept in the state, too)."""
        raise NotImplementedError

    def start(self) -> None:
        self.deploy()

    def refusal(self, inputs: Any) -> dict[str, Any] | None:
        """The error envelope for a call that cannot be made: not an object, or stopped."""
        if not isinstance(inputs, dict):
            return failure(f"inputs must be a JSON object, got {type(inputs).__name__}")
        if not self.running():
            name = self.context.name
            return failure(
                f"deployment {name} is not running (it was stopped); "
                f"start it with `deployer start {name}`"
            )
        return None

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return self.refusal(inputs) or self.call(inputs)

    def stream(self, inputs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The generated app's `stream` generator read item by item: `{"status": "item",
        "output": ...}` each, then `{"status": "success"}` or the error envelope."""
        refused = self.refusal(inputs)
        if refused is not None:
            yield refused
            return
        yield from self.call_stream(inputs)

    def call(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """The envelope for `inputs` from a running deployment."""
        raise NotImplementedError

    def call_stream(self, inputs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The item envelopes for `inputs` from a running deployment."""
        raise NotImplementedError

    def healthy(self) -> bool:
        """Whether the running deployment answers; may raise (is_healthy turns that to False)."""
        raise NotImplementedError

    def running(self) -> bool:
        """Whether the deployment was left running (not stopped)."""
        return bool(self.state.get("running"))

    def is_healthy(self) -> bool:
        try:
            return self.running() and self.healthy()
        except Exception:
            return False

    def status(self) -> RunnerStatus:
        if not self.running():
            return "stopped"
        return "running" if self.is_healthy() else "failed"

    def readiness(self) -> Readiness:
        """Stopped, ready, or failed with the reason `healthy()` gave (the load error here, a
        Modal error on the cloud). Modal loads a container's entry point when it starts, so
        there is no `loading` between a finished deploy and the first call."""
        if not self.running():
            return Readiness(state="stopped")
        try:
            if self.healthy():
                return Readiness(state="ready")
            return Readiness(state="failed", error="not deployed on Modal")
        except Exception as exc:
            return Readiness(state="failed", error=getattr(exc, "message", None) or str(exc))

    def mark_stopped(self) -> None:
        if self.state:
            self.state["running"] = False

    def close(self) -> None:
        """Release what the runner holds in this process (the deployment keeps running)."""


def raised(exc: BaseException) -> dict[str, Any]:
    """The error envelope of an exception from the solution's side; an invalid input (the
    generated app's TypeError carrying `field`) names its field, as on every strategy."""
    if isinstance(exc, TypeError) and hasattr(exc, "field"):
        return {**failure(str(exc)), "field": exc.field}
    return failure(f"{type(exc).__name__}: {exc}")
