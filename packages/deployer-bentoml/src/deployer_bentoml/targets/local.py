"""target=local: `python -m bentoml serve` on 127.0.0.1 in its own session.

Output goes to `bentoml.log` in the deployment's runtime directory. The process identity, the
stop, the port-race retry and the logs are core's ProcessServerRunner; calls and health go
through bentoml's own client (common.py). A solution without dependencies is served by
deployer's own interpreter, which has bentoml; one with a requirements.txt or `[project]
dependencies` gets a layered virtual environment from core: its own site-packages first,
then deployer's, so bentoml is shared and pip installs only what is missing.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from deployer.plugin import (
    DeployFailedError,
    PortRaceError,
    ProcessServerRunner,
    RunnerContext,
    ensure_venv,
    read_dependencies,
    read_tail,
    site_dirs,
    venv_python,
)
from deployer_bentoml import sdk
from deployer_bentoml.targets.common import BentoServiceRunner
from deployer_bentoml.workspace import LOAD_FAILED_MARKER, ServiceSpec, prepare

INSTALL_LOG = "install.log"
LOG_LINES_ON_FAILURE = 25
READY_PROBE_TIMEOUT = 2.0
STARTUP_FAILURE_MARKS = (LOAD_FAILED_MARKER, "Initializing service error", "startup failed")
PORT_IN_USE_MARKS = ("Address already in use", "[Errno 98]")
_LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")  # a new bentoml log record


class BentoMLLocalRunner(BentoServiceRunner, ProcessServerRunner):
    """Runner of `bentoml` with target=local (the default)."""

    server_log_name = "bentoml.log"
    server_label = "bentoml serve"

    def __init__(self, context: RunnerContext, state: dict[str, Any] | None = None) -> None:
        super().__init__(context, state)
        self._serving: tuple[ServiceSpec, Path] | None = None

    @property
    def provider(self) -> str:
        return "bentoml"

    def deploy(self) -> None:
        self.stop()
        spec = prepare(self.context, target="local")
        self._serving = (spec, serving_python(self.context.adapted_path, self.install_log))
        self.serve()

    def start(self) -> None:
        if self.state.get("pid") and self.is_healthy():
            return
        self.stop()  # a hung or dead server: clear what is left of it first
        api = self.state.get("api")
        spec = ServiceSpec(
            self.state.get("service") or "",
            "run" if api is None else str(api),
            own=bool(self.state.get("own_service", True)),
            mounts_app=bool(self.state.get("mounts_app")),
        )
        if not spec.target:
            spec = prepare(self.context, target="local")
        python = Path(self.state.get("python") or "")
        if not self.state.get("python") or not python.exists():
            python = serving_python(self.context.adapted_path, self.install_log)
        self._serving = (spec, python)
        self.serve()

    def after_failed_call(self, result: dict[str, Any]) -> dict[str, Any]:
        if not self.process_alive():
            return self.not_running("its bentoml serve process exited during the call")
        return result

    @property
    def install_log(self) -> Path:
        return self.runtime_dir / INSTALL_LOG

    def serving_env(self, venv: Path | None = None) -> dict[str, str]:
        env = super().serving_env(venv)
        env.setdefault("BENTOML_DO_NOT_TRACK", "True")  # the user's own setting is kept
        return env

    def start_server(self, port: int) -> None:
        assert self._serving is not None, "deploy() or start() sets what to serve"
        spec, python = self._serving
        workspace = self.context.adapted_path
        command = [
            str(python), "-m", "bentoml", "serve", spec.target,
            "--host", "127.0.0.1", "--port", str(port), "--working-dir", str(workspace),
        ]  # fmt: skip
        with self.server_log.open("a", encoding="utf-8") as log:
            log.write(f"deployer-bentoml: $ {' '.join(command)}\n")
        log_offset = self.server_log.stat().st_size
        proc = self.launch(
            command,
            cwd=workspace,
            env=self.serving_env(python.parent.parent),
            target="local",
            port=port,
            python=str(python),
            **spec.as_state(),
        )
        try:
            self._wait_ready(proc, log_offset)
            self.settle_route()
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
            output = read_tail(self.server_log, None, start=log_offset)
            if code is not None:
                if any(mark in output for mark in PORT_IN_USE_MARKS):
                    raise PortRaceError(f"port {self.port} was taken before bentoml bound it")
                raise DeployFailedError(
                    f"bentoml serve for {name!r} exited with code {code} before becoming ready"
                    + excerpt(output),
                    hint=f"full log: {self.server_log}",
                )
            if any(mark in output for mark in STARTUP_FAILURE_MARKS):
                raise DeployFailedError(
                    f"the BentoML service of {name!r} failed to start" + excerpt(output),
                    hint="fix the error in the solution's import or load step, then deploy again",
                )
            try:
                client = sdk.connect(self.endpoint or "", timeout=READY_PROBE_TIMEOUT)
                ready = sdk.is_ready(client, READY_PROBE_TIMEOUT)
                client.close()
            except Exception:
                ready = False
            if ready:
                return
            if time.monotonic() >= deadline:
                raise DeployFailedError(
                    f"the BentoML service of {name!r} was not ready within {timeout:g}s"
                    + excerpt(output),
                    hint="raise the startup timeout if the model loads slowly; "
                    f"log: {self.server_log}",
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)


def serving_python(workspace: Path, log_path: Path) -> Path:
    """The interpreter to run `python -m bentoml serve` with, building its environment once."""
    if read_dependencies(workspace).empty:
        return Path(sys.executable)
    base = getattr(sys, "_base_executable", sys.executable)
    venv = ensure_venv(workspace, base, log_path, inherit_site=site_dirs(), cache="bentoml-envs")
    return venv_python(venv)


def excerpt(output: str) -> str:
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
