"""The $name runner. Import the platform SDK inside methods (or only in sdk.py), never at
module level. Everything from core comes from `deployer.plugin`: a server you start on this
machine can subclass `ProcessServerRunner`, an HTTP deployment can call through
`EnvelopeClient`. A strategy with several targets names one Runner class per target in
config.yaml (`runner: {target: "module:Class"}` with `target_option`)."""

from __future__ import annotations

from typing import Any

from deployer.plugin import DeployFailedError, Runner, failure

NOT_IMPLEMENTED = (
    "the $name strategy's runner is not implemented yet: "
    "write ${class_name}Runner in $package/runner.py"
)


class ${class_name}Runner(Runner):
    """Brings an adapted workspace up on $name and calls it.

    `self.context` says what to run (adapted_path, run_interface, options, env, timeouts);
    `self.state` is saved after deploy/stop/start so another process can reattach.
    """

    def deploy(self) -> None:
        raise DeployFailedError(NOT_IMPLEMENTED)

    def stop(self) -> None:
        self.state["running"] = False

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return failure(NOT_IMPLEMENTED)

    def is_healthy(self) -> bool:
        return False
