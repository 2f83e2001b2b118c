"""target=bentocloud: `bentoml build`, then a BentoCloud deployment through bentoml.deployment.

The endpoint is read back from the deployment; stop/start/remove map to terminate/start/delete.
Progress of the build and of BentoCloud goes to `build.log`, which is this target's log.
"""

from __future__ import annotations

from pathlib import Path

from deployer.plugin import ProcessServerRunner, RunnerError, RunnerStatus, read_tail
from deployer_bentoml import sdk
from deployer_bentoml.targets.common import BentoServiceRunner
from deployer_bentoml.workspace import prepare

BUILD_LOG = "build.log"


class BentoCloudRunner(BentoServiceRunner):
    """Runner of `bentoml` with target=bentocloud."""

    # the same "not running; start it with ..." envelope as a local server's (core's, not a copy)
    not_running = ProcessServerRunner.not_running

    @property
    def provider(self) -> str:
        return "bentocloud"

    @property
    def endpoint(self) -> str | None:
        return self.state.get("endpoint")

    @property
    def build_log(self) -> Path:
        self.context.runtime_dir.mkdir(parents=True, exist_ok=True)
        return self.context.runtime_dir / BUILD_LOG

    def deploy(self) -> None:
        sdk.require_login()  # before anything is built
        ctx = self.context
        spec = prepare(ctx, target="bentocloud")
        bento = sdk.build(ctx.adapted_path, self.build_log, sdk.build_env(ctx.env))
        self.state = {"target": "bentocloud", "bento": bento, **spec.as_state()}
        self.save_state()  # a bento exists: a killed deploy leaves a record to clean up
        cluster = sdk.create(
            name=ctx.name, bento=bento, options=ctx.options, env=ctx.env, log_path=self.build_log
        )
        self.state.update(deployment=ctx.name, cluster=cluster, running=True)
        self.save_state()
        self.state["endpoint"] = sdk.wait_ready(
            ctx.name, cluster, ctx.startup_timeout, self.build_log
        )

    def start(self) -> None:
        if not self.state.get("deployment"):
            raise RunnerError(
                f"deployment {self.context.name} has no BentoCloud deployment to start",
                hint=f"deploy it again: deployer rm {self.context.name}, then deployer deploy",
            )
        name, cluster = self._cloud_name()
        sdk.start(name, cluster, self.build_log)
        self.state["endpoint"] = sdk.wait_ready(
            name, cluster, self.context.startup_timeout, self.build_log
        )
        self.state["running"] = True

    def stop(self) -> None:
        self.close()
        if self.state.get("deployment"):
            name, cluster = self._cloud_name()
            sdk.terminate(name, cluster, self.build_log)
            self.state["running"] = False

    def remove(self) -> None:
        self.stop()
        if self.state.get("deployment"):
            name, cluster = self._cloud_name()
            sdk.delete(name, cluster, self.build_log)
        if self.state.get("bento"):
            sdk.delete_bento(self.state["bento"])
        self.state.update(deployment=None, running=False, endpoint=None, bento=None)

    def unavailable_reason(self) -> str | None:
        if not self.state.get("running") or not self.endpoint:
            return "its BentoCloud deployment is terminated"
        return None

    def status(self) -> RunnerStatus:
        if not self.state.get("running"):
            return "stopped"
        return "running" if self.is_healthy() else "failed"

    def logs(self, tail: int | None = None) -> str:
        """The build and BentoCloud progress."""
        return read_tail(self.build_log, tail)

    def _cloud_name(self) -> tuple[str, str | None]:
        return str(self.state.get("deployment")), self.state.get("cluster") or None
