"""What the two targets share: the running flag in the state, run()'s input checks, the
status, and "start" meaning "deploy again" (Modal keeps no stopped app to resume)."""

from __future__ import annotations

from typing import Any

from deployer.plugin import Runner, RunnerStatus, failure


class ModalRunner(Runner):
    """Base of the `modal` strategy's runners; each target implements `call` and `healthy`."""

    @property
    def target(self) -> str:
        """The value of the `target` option this class serves (kept in the state, too)."""
        raise NotImplementedError

    def start(self) -> None:
        self.deploy()

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(inputs, dict):
            return failure(f"inputs must be a JSON object, got {type(inputs).__name__}")
        if not self.state.get("running"):
            name = self.context.name
            return failure(
                f"deployment {name} is not running (it was stopped); "
                f"start it with `deployer start {name}`"
            )
        return self.call(inputs)

    def call(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """The envelope for `inputs` from a running deployment."""
        raise NotImplementedError

    def healthy(self) -> bool:
        """Whether the running deployment answers; may raise (is_healthy turns that to False)."""
        raise NotImplementedError

    def is_healthy(self) -> bool:
        try:
            return bool(self.state.get("running")) and self.healthy()
        except Exception:
            return False

    def status(self) -> RunnerStatus:
        if not self.state.get("running"):
            return "stopped"
        return "running" if self.is_healthy() else "failed"

    def mark_stopped(self) -> None:
        if self.state:
            self.state["running"] = False

    def close(self) -> None:
        """Release what the runner holds in this process (the deployment keeps running)."""
