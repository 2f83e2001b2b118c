"""LocalRunner: runs a solution on this machine, in-process or as a local HTTP server.

- `mode=process` (default): the adapted workspace is served by `deployer_server.py` in its own
  process and virtual environment. The process outlives the caller; its pid, start time and
  port are the runner's state, so another process (the next CLI call) can reattach to it.
- `mode=inprocess`: the entry point is imported into the caller's process and called directly.
  A runner reattached from state imports it again on first use.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import httpx

from deployer.errors import DeployFailedError
from deployer.runtime.processes import check_port_free
from deployer.runtime.runner import Runner, RunnerContext, RunnerStatus, failure
from deployer.runtime.venvs import default_python, ensure_venv, is_usable, venv_python
from deployer_local import inprocess, process

SERVER_FILE = "deployer_server.py"
SERVER_LOG = "server.log"
INSTALL_LOG = "install.log"
PORT_FILE = "server.port"
HEALTH_TIMEOUT = 5.0


class LocalRunner(Runner):
    """Runner of the `local` strategy; see the module docstring for the two modes."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"logs", "restart"})

    def __init__(self, context: RunnerContext, state: dict[str, Any] | None = None) -> None:
        super().__init__(context, state)
        self._function: Callable[..., Any] | None = None
        self._alias: str | None = None
        self._load_lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._client: httpx.Client | None = None

    # -- shared ------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return str(self.state.get("mode") or self.context.options.get("mode") or "process")

    @property
    def runtime_dir(self) -> Path:
        self.context.runtime_dir.mkdir(parents=True, exist_ok=True)
        return self.context.runtime_dir

    @property
    def server_log(self) -> Path:
        return self.runtime_dir / SERVER_LOG

    @property
    def install_log(self) -> Path:
        return self.runtime_dir / INSTALL_LOG

    @property
    def endpoint(self) -> str | None:
        port = self.state.get("port")
        return f"http://127.0.0.1:{port}" if self.mode == "process" and port else None

    def deploy(self) -> None:
        if self.mode == "inprocess":
            self.state = {"mode": "inprocess", "running": True}
            self._ensure_loaded()
            return
        self.stop()
        self._start_process(reuse_venv=False)

    def start(self) -> None:
        if self.mode == "inprocess":
            self.state = {"mode": "inprocess", "running": True}
            self._ensure_loaded()
            return
        if self.is_healthy():
            return
        self.stop()  # a hung or dead server: clear what is left of it first
        self._start_process(reuse_venv=True)

    def stop(self) -> None:
        if self.mode == "inprocess":
            inprocess.unload(self._alias)
            self._function, self._alias = None, None
            if self.state:
                self.state["running"] = False
            return
        pid = self.state.get("pid")
        own = self._proc if self._proc is not None and self._proc.pid == pid else None
        process.terminate(pid, self.state.get("pgid"), self.state.get("pid_start_time"), own)
        self._proc = None
        self.close()
        self.state.update(pid=None, pgid=None, pid_start_time=None, port=None)
        (self.runtime_dir / PORT_FILE).unlink(missing_ok=True)

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(inputs, dict):
            return failure(f"inputs must be a JSON object, got {type(inputs).__name__}")
        if self.mode == "inprocess":
            return self._run_inprocess(inputs)
        return self._run_http(inputs)

    def is_healthy(self) -> bool:
        try:
            if self.mode == "inprocess":
                if self.state.get("running") is False:
                    return False
                self._ensure_loaded()
                return True
            if not self._process_alive():
                return False
            response = self._http().get(f"{self.endpoint}/health", timeout=HEALTH_TIMEOUT)
            return response.status_code == 200
        except Exception:
            return False

    def status(self) -> RunnerStatus:
        if self.mode == "inprocess":
            return "stopped" if self.state.get("running") is False else super().status()
        if not self.state.get("pid"):
            return "stopped"
        return "running" if self.is_healthy() else "failed"

    def logs(self, tail: int | None = None) -> str:
        """The server's output (process mode); in-process calls write to the caller's own."""
        if self.mode == "inprocess":
            return ""
        return process.read_tail(self.server_log, tail)

    def close(self) -> None:
        """Release the HTTP connection pool (the deployment keeps running)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _not_running(self, reason: str) -> dict[str, Any]:
        name = self.context.name
        return failure(
            f"deployment {name} is not running ({reason}); start it with `deployer start {name}`"
        )

    # -- in-process --------------------------------------------------------------------------

    def _ensure_loaded(self) -> Callable[..., Any]:
        with self._load_lock:
            if self._function is None:
                os.environ.update(self.context.env)  # secrets reach the solution as env vars
                self._function, self._alias = inprocess.load_function(
                    self.context.adapted_path, self.context.run_interface.entrypoint
                )
            return self._function

    def _run_inprocess(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if self.state.get("running") is False:
            return self._not_running("it was stopped")
        try:
            function = self._ensure_loaded()
        except DeployFailedError as exc:
            return failure(str(exc))
        interface = self.context.run_interface
        return inprocess.call(function, interface.calling_convention, inputs, interface.entrypoint)

    # -- process -----------------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        """One client per runner, so consecutive runs reuse the keep-alive connection."""
        if self._client is None:
            timeout = httpx.Timeout(self.context.run_timeout, connect=5.0)
            self._client = httpx.Client(trust_env=False, timeout=timeout)
        return self._client

    def _process_alive(self) -> bool:
        pid = self.state.get("pid")
        if self._proc is not None and self._proc.pid == pid and self._proc.poll() is not None:
            return False  # our own child has exited (poll also reaps it)
        return process.is_alive(pid, self.state.get("pid_start_time"))

    def _start_process(self, *, reuse_venv: bool) -> None:
        ctx = self.context
        port = int(ctx.options.get("port") or 0)
        check_port_free(port)
        workspace = ctx.adapted_path
        if not (workspace / SERVER_FILE).is_file():
            raise DeployFailedError(
                f"{SERVER_FILE} is missing from the adapted workspace {workspace}",
                hint="deploy again so the local strategy's template is rendered",
            )
        venv = Path(self.state.get("venv") or "")
        if not (reuse_venv and self.state.get("venv") and is_usable(venv)):
            python = default_python(ctx.options.get("python") or None)
            venv = ensure_venv(workspace, python, self.install_log)
        env = {**os.environ, **ctx.env}
        env.pop("PYTHONHOME", None)
        bin_dir = venv_python(venv).parent
        env.update(
            PYTHONUNBUFFERED="1",
            VIRTUAL_ENV=str(venv),
            PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        log_offset = self.server_log.stat().st_size if self.server_log.exists() else 0
        proc = process.launch(
            venv_python(venv),
            workspace,
            port=port,
            port_file=self.runtime_dir / PORT_FILE,
            log_path=self.server_log,
            env=env,
            entrypoint=ctx.run_interface.entrypoint,
            calling_convention=ctx.run_interface.calling_convention,
        )
        self._proc = proc
        self.state = {
            "mode": "process",
            "pid": proc.pid,
            "pgid": proc.pid,
            "port": None,
            "pid_start_time": process.pid_start_time(proc.pid),
            "venv": str(venv),
        }
        try:
            self.state["port"] = process.wait_ready(
                proc,
                name=ctx.name,
                port_file=self.runtime_dir / PORT_FILE,
                requested_port=port,
                log_path=self.server_log,
                log_offset=log_offset,
                timeout=ctx.startup_timeout,
            )
        except BaseException:
            self.stop()
            raise

    def _run_http(self, inputs: dict[str, Any]) -> dict[str, Any]:
        port = self.state.get("port")
        if not self.state.get("pid") or not port:
            return self._not_running("it is stopped")
        if not self._process_alive():
            return self._not_running(f"its server process {self.state['pid']} has exited")
        try:
            body = json.dumps(inputs)
        except (TypeError, ValueError) as exc:
            return failure(f"inputs are not JSON-serialisable: {exc}")
        try:
            response = self._http().post(
                f"http://127.0.0.1:{port}/run",
                content=body.encode("utf-8"),
                headers={"Content-Type": "application/json"},
            )
        except httpx.TimeoutException:
            timeout = self.context.run_timeout
            return failure(
                f"deployment {self.context.name} did not answer within {timeout:g}s "
                "(the run timeout); the call may still be running in the server"
            )
        except httpx.HTTPError as exc:
            if not self._process_alive():
                return self._not_running("its server process exited during the call")
            return self._not_running(f"cannot reach 127.0.0.1:{port}: {type(exc).__name__}")
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and payload.get("status") in {"success", "error"}:
            return payload
        return failure(
            f"unexpected answer from the server of {self.context.name}: "
            f"HTTP {response.status_code} {response.text[:200]!r}"
        )
