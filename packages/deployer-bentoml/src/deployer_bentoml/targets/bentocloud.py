"""target=bentocloud: `bentoml build`, then a BentoCloud deployment through bentoml.deployment.

The endpoint is read back from the deployment; stop/start/remove map to terminate/start/delete.
Progress of the build and of BentoCloud goes to `build.log`, which is this target's log.

Versions are BentoCloud's own: deployer's version k+1 of a name builds its bento and updates
the one BentoCloud deployment of that name to it (a rolling update: BentoCloud keeps the old
replicas serving until the new ones are ready), instead of a second deployment beside it.
So each version acts on the cloud deployment only while it runs that version's bento: once
k+1 has replaced it, stopping k (as every redeploy does) terminates nothing, rolling back to
k updates the deployment back to k's bento, and removing k deletes only its local bento.
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
        cluster = str(ctx.options.get("cluster") or "") or None
        replaced = sdk.current_bento(ctx.name, cluster, self.build_log, strict=False)
        if replaced is None:
            cluster = sdk.create(
                name=ctx.name,
                bento=bento,
                options=ctx.options,
                env=ctx.env,
                log_path=self.build_log,
            )
        else:  # a new version of a live deployment: BentoCloud's own update of it
            cluster = self._update(bento, cluster)
            self.state["replaced_bento"] = replaced
        self.state.update(deployment=ctx.name, cluster=cluster, running=True)
        self.save_state()
        self.state["endpoint"] = sdk.wait_ready(
            ctx.name, cluster, ctx.startup_timeout, self.build_log, bento=bento
        )

    def start(self) -> None:
        if not self.state.get("deployment"):
            raise RunnerError(
                f"deployment {self.context.name} has no BentoCloud deployment to start",
                hint=f"deploy it again: deployer rm {self.context.name}, then deployer deploy",
            )
        name, cluster = self._cloud_name()
        bento = str(self.state.get("bento") or "")
        current = sdk.current_bento(name, cluster, self.build_log, strict=True)
        if current is not None and current != bento:  # a rollback: update back to this bento
            self._log(f"BentoCloud deployment {name} runs {current}: updating it to {bento}")
            self.state["cluster"] = self._update(bento, cluster)
        else:
            sdk.start(name, cluster, self.build_log)
        self.state["endpoint"] = sdk.wait_ready(
            name, cluster, self.context.startup_timeout, self.build_log, bento=bento or None
        )
        self.state["running"] = True

    def stop(self) -> None:
        self.close()
        if self.state.get("deployment"):
            name, cluster = self._cloud_name()
            if not self._superseded():
                sdk.terminate(name, cluster, self.build_log)
            self.state["running"] = False

    def remove(self) -> None:
        superseded = self._superseded() if self.state.get("deployment") else False
        self.stop()
        if self.state.get("deployment") and not superseded:
            name, cluster = self._cloud_name()
            sdk.delete(name, cluster, self.build_log)
        if self.state.get("bento"):
            sdk.delete_bento(self.state["bento"])
        self.state.update(deployment=None, running=False, endpoint=None, bento=None)

    def _update(self, bento: str, cluster: str | None) -> str:
        ctx = self.context
        return sdk.update(
            name=ctx.name,
            bento=bento,
            cluster=cluster,
            options=ctx.options,
            env=ctx.env,
            log_path=self.build_log,
        )

    def _superseded(self) -> bool:
        """Whether the cloud deployment now runs another version's bento (this version was
        replaced by a redeploy or a rollback): then it is not this version's to stop."""
        name, cluster = self._cloud_name()
        current = sdk.current_bento(name, cluster, self.build_log, strict=True)
        mine = self.state.get("bento")
        if current is not None and mine and current != mine:
            self._log(f"BentoCloud deployment {name} runs {current}, not {mine}: left as it is")
            return True
        return False

    def _log(self, line: str) -> None:
        with self.build_log.open("a", encoding="utf-8") as log:
            log.write(f"deployer-bentoml: {line}\n")

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
