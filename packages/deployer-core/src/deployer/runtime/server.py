"""ProcessServerRunner: the base of runners whose deployment is one local server process.

What every such runner shares, written once: the server runs in its own session so it outlives
the command that started it; its identity (pid, process group, start time) is in the runner
state, so another process can reattach, check and stop it; a port chosen free is retried when
someone takes it first; deploy blocks until the server is ready; logs are its output. A
subclass says how to start its server (`start_server`) and how to tell it is ready.
"""

from __future__ import annotations

import os
import subprocess
import time
from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import psutil

from deployer.errors import PortRaceError
from deployer.paths import deployer_home
from deployer.runtime.processes import (
    free_port,
    is_alive,
    pid_start_time,
    port_in_use_error,
    port_taken,
    read_tail,
    spawn,
    terminate,
)
from deployer.runtime.runner import Runner, RunnerContext, RunnerStatus, failure

PROCESS_KEYS = ("pid", "pgid", "pid_start_time", "port")
DEPLOYMENT_ENV = "DEPLOYER_DEPLOYMENT"
HOME_ENV = "DEPLOYER_HOME"
DEFAULT_PORT_ATTEMPTS = 3


def marked_processes(home: str, name: str | None = None) -> list[psutil.Process]:
    """Processes started for deployments of `home` (all, or of deployment `name`): found by
    the marker every server's environment carries, which a solution's daemons inherit even
    when they double-fork out of the server's session."""
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            environ = process.environ()
        except (psutil.Error, OSError):
            continue
        marked = environ.get(DEPLOYMENT_ENV)
        if marked and environ.get(HOME_ENV) == home and (name is None or marked == name):
            found.append(process)
    return found


def stop_marked(home: str, name: str) -> list[int]:
    """Stop every process left of deployment `name`; the pids that would not stop."""
    survivors = []
    for process in marked_processes(home, name):
        try:
            group = os.getpgid(process.pid)
        except OSError:
            continue  # gone already
        if group == os.getpgid(0):
            group = None  # never our own group
        started = pid_start_time(process.pid)
        terminate(process.pid, group, started, grace=2.0)
        deadline = time.monotonic() + 5.0  # SIGKILL is delivered, not instant
        while is_alive(process.pid, started) and time.monotonic() < deadline:
            time.sleep(0.05)
        if is_alive(process.pid, started):
            survivors.append(process.pid)
    return survivors


class ProcessServerRunner(Runner):
    """A deployment served by a local process on 127.0.0.1 (see the module docstring).

    Subclasses implement `start_server(port)`: launch with `launch()`, then wait until ready
    (raise `PortRaceError` when the port was taken under it). `stop`, `status`, `logs`,
    `endpoint` and the port-race retry come from here.
    """

    server_log_name: ClassVar[str] = "server.log"
    port_attempts: ClassVar[int] = DEFAULT_PORT_ATTEMPTS
    server_label: ClassVar[str] = "server"

    def __init__(self, context: RunnerContext, state: dict[str, Any] | None = None) -> None:
        super().__init__(context, state)
        self._proc: subprocess.Popen[bytes] | None = None

    # -- what a subclass provides ------------------------------------------------------------

    @abstractmethod
    def start_server(self, port: int) -> None:
        """Start the server on `port` (0: let it bind a free one) and block until ready."""

    def close(self) -> None:
        """Release client connections (the server keeps running). Subclasses with a client
        override it."""

    # -- the process -------------------------------------------------------------------------

    @property
    def runtime_dir(self) -> Path:
        self.context.runtime_dir.mkdir(parents=True, exist_ok=True)
        return self.context.runtime_dir

    @property
    def server_log(self) -> Path:
        return self.runtime_dir / self.server_log_name

    @property
    def port(self) -> int | None:
        port = self.state.get("port")
        return int(port) if port else None

    @property
    def endpoint(self) -> str | None:
        return f"http://127.0.0.1:{self.port}" if self.port else None

    def launch(
        self, command: list[str], *, cwd: Path, env: dict[str, str], **state: Any
    ) -> subprocess.Popen[bytes]:
        """Spawn the server in its own session and record its identity in the state at once,
        with `state` (port, venv, ...) beside it."""
        proc = spawn(command, cwd=cwd, env=env, log_path=self.server_log)
        self._proc = proc
        self.state = {
            **state,
            "pid": proc.pid,
            "pgid": proc.pid,
            "pid_start_time": pid_start_time(proc.pid),
        }
        self.save_state()
        return proc

    def process_alive(self) -> bool:
        """Whether the recorded server process still runs (and is still ours)."""
        pid = self.state.get("pid")
        if not pid:
            return False
        if self._proc is not None and self._proc.pid == pid and self._proc.poll() is not None:
            return False  # our own child has exited (poll also reaps it)
        return is_alive(pid, self.state.get("pid_start_time"))

    def serve(self) -> None:
        """Start the server on the option's port, or on a free one, retrying a free port that
        another process took between choosing and binding it."""
        wanted = int(self.context.options.get("port") or 0)
        if wanted and port_taken(wanted):
            raise port_in_use_error(wanted)
        for attempt in range(1, self.port_attempts + 1):
            port = wanted or self.choose_port()
            try:
                self.start_server(port)
                return
            except PortRaceError:
                self.stop()
                if wanted or attempt == self.port_attempts:
                    raise port_in_use_error(port or wanted) from None

    def choose_port(self) -> int:
        """The port to try when none is asked for. Servers that can bind port 0 themselves
        and report it override this to return 0."""
        return free_port()

    def serving_env(self, venv: Path | None = None) -> dict[str, str]:
        """The server's environment: ours, the deployment's secrets, unbuffered output and,
        for a virtual environment, its bin directory first."""
        env = {**os.environ, **self.context.env}
        env.pop("PYTHONHOME", None)
        env["PYTHONUNBUFFERED"] = "1"
        # whose server this is: `deployer doctor` finds servers whose deployment is gone
        env[DEPLOYMENT_ENV] = self.context.name
        env[HOME_ENV] = str(deployer_home())
        if venv is not None and (venv / "pyvenv.cfg").is_file():
            bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
            env["VIRTUAL_ENV"] = str(venv)
            env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
        return env

    # -- the Runner contract -----------------------------------------------------------------

    def stop(self) -> None:
        self.close()
        pid = self.state.get("pid")
        own = self._proc if self._proc is not None and self._proc.pid == pid else None
        terminate(pid, self.state.get("pgid"), self.state.get("pid_start_time"), own)
        self._proc = None
        self.state.update(dict.fromkeys(PROCESS_KEYS))

    def status(self) -> RunnerStatus:
        if not self.state.get("pid"):
            return "stopped"
        return "running" if self.is_healthy() else "failed"

    def logs(self, tail: int | None = None) -> str:
        return read_tail(self.server_log, tail)

    def not_running(self, reason: str) -> dict[str, Any]:
        """The error envelope of a call to a deployment that is not up, with what to do."""
        name = self.context.name
        return failure(
            f"deployment {name} is not running ({reason}); start it with `deployer start {name}`"
        )

    def stopped_reason(self) -> str | None:
        """The reason "it is stopped" when the state records no server, else None. A call
        checks only this first: the process's liveness is read when the call fails (reading
        the process table before every call cost ~250 us, a quarter of a loopback call)."""
        if not self.state.get("pid") or not self.port:
            return "it is stopped"
        return None

    def unavailable_reason(self) -> str | None:
        """Why a call cannot reach the server now (stopped, exited), or None."""
        stopped = self.stopped_reason()
        if stopped:
            return stopped
        if not self.process_alive():
            return f"its {self.server_label} process {self.state['pid']} has exited"
        return None
