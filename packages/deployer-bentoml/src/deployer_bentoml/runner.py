"""BentoMLRunner: serves the adapted workspace with BentoML, locally or on BentoCloud.

- `target=local` (default): `python -m bentoml serve` on 127.0.0.1 in its own session, output
  in `bentoml.log` in the deployment's runtime directory. Its pid, start time and port are the
  runner's state, so another process (the next CLI call) can reattach, call, stop and start it.
- `target=bentocloud`: `bentoml build`, then a deployment through `bentoml.deployment`; the
  endpoint is read back from it. stop/start/remove map to terminate/start/delete.

Calls go through bentoml's SyncHTTPClient with the run timeout; health is its readiness check.
bentoml itself is imported only inside methods (see client.py and cloud.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from deployer.errors import DeployFailedError, PortInUseError, RunnerError
from deployer.runtime.runner import Runner, RunnerContext, RunnerStatus, failure
from deployer_bentoml import client as bento_client
from deployer_bentoml import cloud, process
from deployer_bentoml.env import serving_python
from deployer_bentoml.workspace import LOAD_FAILED_MARKER, ServiceSpec, prepare

if TYPE_CHECKING:
    from bentoml import SyncHTTPClient

SERVER_LOG = "bentoml.log"
INSTALL_LOG = "install.log"
BUILD_LOG = "build.log"
PORT_ATTEMPTS = 3
LOG_LINES_ON_FAILURE = 25
READY_PROBE_TIMEOUT = 2.0
CLIENT_TIMEOUT_MARGIN = 2.0
STARTUP_FAILURE_MARKS = (LOAD_FAILED_MARKER, "Initializing service error", "startup failed")
PORT_IN_USE_MARKS = ("Address already in use", "[Errno 98]")
_LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")  # a new bentoml log record


class BentoMLRunner(Runner):
    """Runner of the `bentoml` strategy; see the module docstring for the two targets."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"logs", "restart"})

    def __init__(self, context: RunnerContext, state: dict[str, Any] | None = None) -> None:
        super().__init__(context, state)
        self._proc: subprocess.Popen[bytes] | None = None
        self._client: SyncHTTPClient | None = None

    # -- shared ------------------------------------------------------------------------------

    @property
    def target(self) -> str:
        return str(self.state.get("target") or self.context.options.get("target") or "local")

    @property
    def provider(self) -> str:
        return "bentocloud" if self.target == "bentocloud" else "bentoml"

    @property
    def runtime_dir(self) -> Path:
        self.context.runtime_dir.mkdir(parents=True, exist_ok=True)
        return self.context.runtime_dir

    @property
    def server_log(self) -> Path:
        return self.runtime_dir / SERVER_LOG

    @property
    def endpoint(self) -> str | None:
        if self.target == "bentocloud":
            return self.state.get("endpoint")
        port = self.state.get("port")
        return f"http://127.0.0.1:{port}" if port else None

    def deploy(self) -> None:
        if self.target == "bentocloud":
            self._deploy_cloud()
            return
        self.stop()
        spec = prepare(self.context, target="local")
        python = serving_python(self.context.adapted_path, self.runtime_dir / INSTALL_LOG)
        self._serve(spec, python)

    def start(self) -> None:
        if self.target == "bentocloud":
            if not self.state.get("deployment"):
                raise RunnerError(
                    f"deployment {self.context.name} has no BentoCloud deployment to start",
                    hint=f"deploy it again: deployer rm {self.context.name}, then deployer deploy",
                )
            name, cluster = self._cloud_name()
            cloud.start(name, cluster, self._build_log)
            self.state["endpoint"] = cloud.wait_ready(
                name, cluster, self.context.startup_timeout, self._build_log
            )
            self.state["running"] = True
            return
        if self.state.get("pid") and self.is_healthy():
            return
        self.stop()  # a hung or dead server: clear what is left of it first
        spec = ServiceSpec(
            self.state.get("service") or "", self.state.get("api") or "run", own=True
        )
        if not spec.target:
            spec = prepare(self.context, target="local")
        else:
            spec.own = bool(self.state.get("own_service", True))
        python = Path(self.state.get("python") or "")
        if not self.state.get("python") or not python.exists():
            python = serving_python(self.context.adapted_path, self.runtime_dir / INSTALL_LOG)
        self._serve(spec, python)

    def stop(self) -> None:
        self.close()
        if self.target == "bentocloud":
            if self.state.get("deployment"):
                name, cluster = self._cloud_name()
                cloud.terminate(name, cluster, self._build_log)
                self.state["running"] = False
            return
        pid = self.state.get("pid")
        own = self._proc if self._proc is not None and self._proc.pid == pid else None
        process.terminate(pid, self.state.get("pgid"), self.state.get("pid_start_time"), own)
        self._proc = None
        self.state.update(pid=None, pgid=None, pid_start_time=None, port=None)

    def remove(self) -> None:
        if self.target == "bentocloud":
            if self.state.get("deployment"):
                name, cluster = self._cloud_name()
                cloud.terminate(name, cluster, self._build_log)
                cloud.delete(name, cluster, self._build_log)
            if self.state.get("bento"):
                cloud.delete_bento(self.state["bento"])
            self.state.update(deployment=None, running=False, endpoint=None, bento=None)
            return
        self.stop()

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(inputs, dict):
            return failure(f"inputs must be a JSON object, got {type(inputs).__name__}")
        if self.target == "local":
            if not self.state.get("pid") or not self.state.get("port"):
                return self._not_running("it is stopped")
            if not self._process_alive():
                return self._not_running(f"its bentoml serve process {self.state['pid']} exited")
        elif not self.state.get("running") or not self.endpoint:
            return self._not_running("its BentoCloud deployment is terminated")
        try:
            client = self._get_client()
        except Exception as exc:
            return self._not_running(f"cannot reach {self.endpoint}: {type(exc).__name__}")
        result = bento_client.call(
            client,
            str(self.state.get("api") or "run"),
            inputs,
            own=bool(self.state.get("own_service", True)),
            name=self.context.name,
        )
        if result["status"] == "error" and self.target == "local" and not self._process_alive():
            return self._not_running("its bentoml serve process exited during the call")
        return result

    def is_healthy(self) -> bool:
        try:
            if self.target == "local" and not self._process_alive():
                return False
            if self.target == "bentocloud" and not self.state.get("running"):
                return False
            return bento_client.is_ready(self._get_client())
        except Exception:
            return False

    def status(self) -> RunnerStatus:
        if self.target == "local" and not self.state.get("pid"):
            return "stopped"
        if self.target == "bentocloud" and not self.state.get("running"):
            return "stopped"
        return "running" if self.is_healthy() else "failed"

    def logs(self, tail: int | None = None) -> str:
        """`bentoml serve` output (local), or the build and BentoCloud progress (bentocloud)."""
        log = self._build_log if self.target == "bentocloud" else self.server_log
        return process.read_tail(log, tail)

    def close(self) -> None:
        """Release the client's connection pool (the deployment keeps running)."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    def _not_running(self, reason: str) -> dict[str, Any]:
        name = self.context.name
        return failure(
            f"deployment {name} is not running ({reason}); start it with `deployer start {name}`"
        )

    def _get_client(self) -> SyncHTTPClient:
        if self._client is None:
            endpoint = self.endpoint
            if not endpoint:
                raise RuntimeError("no endpoint")
            # a little over the service's own traffic timeout, so its 504 usually comes first
            timeout = self.context.run_timeout + CLIENT_TIMEOUT_MARGIN
            self._client = bento_client.connect(endpoint, timeout=timeout)
        return self._client

    # -- local -------------------------------------------------------------------------------

    def _process_alive(self) -> bool:
        pid = self.state.get("pid")
        if self._proc is not None and self._proc.pid == pid and self._proc.poll() is not None:
            return False  # our own child has exited (poll also reaps it)
        return process.is_alive(pid, self.state.get("pid_start_time"))

    def _serve_env(self, python: Path) -> dict[str, str]:
        env = {**os.environ, **self.context.env}
        env.pop("PYTHONHOME", None)
        env.setdefault("BENTOML_DO_NOT_TRACK", "True")  # the user's own setting is kept
        env["PYTHONUNBUFFERED"] = "1"
        venv = python.parent.parent
        if (venv / "pyvenv.cfg").is_file():
            env["VIRTUAL_ENV"] = str(venv)
            env["PATH"] = f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"
        return env

    def _serve(self, spec: ServiceSpec, python: Path) -> None:
        """Start `bentoml serve` and wait until it is ready; retry a port someone else took."""
        wanted = int(self.context.options.get("port") or 0)
        if wanted and process.port_taken(wanted):
            raise _port_in_use(wanted)
        for attempt in range(1, PORT_ATTEMPTS + 1):
            port = wanted or process.free_port()
            try:
                self._start_once(spec, python, port)
                return
            except _PortRace:
                if wanted or attempt == PORT_ATTEMPTS:
                    raise _port_in_use(port) from None

    def _start_once(self, spec: ServiceSpec, python: Path, port: int) -> None:
        ctx = self.context
        workspace = ctx.adapted_path
        command = [
            str(python), "-m", "bentoml", "serve", spec.target,
            "--host", "127.0.0.1", "--port", str(port), "--working-dir", str(workspace),
        ]  # fmt: skip
        with self.server_log.open("a", encoding="utf-8") as log:
            log.write(f"deployer-bentoml: $ {' '.join(command)}\n")
        log_offset = self.server_log.stat().st_size
        proc = process.launch(
            command, cwd=workspace, env=self._serve_env(python), log_path=self.server_log
        )
        self._proc = proc
        self.state = {
            "target": "local",
            "pid": proc.pid,
            "pgid": proc.pid,
            "pid_start_time": process.pid_start_time(proc.pid),
            "port": port,
            "python": str(python),
            **spec.as_state(),
        }
        try:
            self._wait_ready(proc, log_offset)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, proc: subprocess.Popen[bytes], log_offset: int) -> None:
        """Block until the service answers its readiness check through bentoml's client.

        BentoML restarts a worker whose constructor raised, forever; so a start-up failure is
        recognised in the log and reported at once with the lines that explain it.
        """
        name, timeout = self.context.name, self.context.startup_timeout
        deadline = time.monotonic() + timeout
        delay = 0.1
        while True:
            code = proc.poll()
            output = process.read_from(self.server_log, log_offset)
            if code is not None:
                if any(mark in output for mark in PORT_IN_USE_MARKS):
                    raise _PortRace()
                raise DeployFailedError(
                    f"bentoml serve for {name!r} exited with code {code} before becoming ready"
                    + _excerpt(output),
                    hint=f"full log: {self.server_log}",
                )
            if any(mark in output for mark in STARTUP_FAILURE_MARKS):
                raise DeployFailedError(
                    f"the BentoML service of {name!r} failed to start" + _excerpt(output),
                    hint="fix the error in the solution's import or load step, then deploy again",
                )
            try:
                client = bento_client.connect(self.endpoint or "", timeout=READY_PROBE_TIMEOUT)
                ready = bento_client.is_ready(client, READY_PROBE_TIMEOUT)
                client.close()
            except Exception:
                ready = False
            if ready:
                return
            if time.monotonic() >= deadline:
                raise DeployFailedError(
                    f"the BentoML service of {name!r} was not ready within {timeout:g}s"
                    + _excerpt(output),
                    hint="raise the startup timeout if the model loads slowly; "
                    f"log: {self.server_log}",
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    # -- bentocloud --------------------------------------------------------------------------

    @property
    def _build_log(self) -> Path:
        return self.runtime_dir / BUILD_LOG

    def _cloud_name(self) -> tuple[str, str | None]:
        return str(self.state.get("deployment")), self.state.get("cluster") or None

    def _deploy_cloud(self) -> None:
        cloud.require_login()  # before anything is built
        ctx = self.context
        spec = prepare(ctx, target="bentocloud")
        bento = cloud.build(ctx.adapted_path, self._build_log, cloud.build_env(ctx.env))
        self.state = {"target": "bentocloud", "bento": bento, **spec.as_state()}
        cluster = cloud.create(
            name=ctx.name, bento=bento, options=ctx.options, env=ctx.env, log_path=self._build_log
        )
        self.state.update(deployment=ctx.name, cluster=cluster, running=True)
        self.state["endpoint"] = cloud.wait_ready(
            ctx.name, cluster, ctx.startup_timeout, self._build_log
        )


class _PortRace(Exception):
    """The auto-chosen port was taken between choosing it and bentoml binding it."""


def _port_in_use(port: int) -> PortInUseError:
    return PortInUseError(
        f"port {port} is already in use",
        hint="pick another with --option port=N, or use port=0 for a free one",
    )


def _excerpt(output: str) -> str:
    """The lines that explain a failure: the first error block (up to the next log record),
    else the last lines of the output."""
    lines = [line for line in output.splitlines() if line.strip()]
    start = next(
        (i for i, line in enumerate(lines) if any(m in line for m in STARTUP_FAILURE_MARKS)),
        None,
    )
    if start is None:
        start = next((i for i, line in enumerate(lines) if "Traceback" in line), None)
    if start is None:
        chosen = lines[-20:]
    else:
        chosen = [lines[start]]
        for line in lines[start + 1 : start + LOG_LINES_ON_FAILURE]:
            if _LOG_RECORD.match(line):
                break
            chosen.append(line)
    text = "\n".join(chosen)
    return f"; log lines:\n{text}" if text else ""
