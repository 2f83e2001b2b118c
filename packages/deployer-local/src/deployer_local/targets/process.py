"""mode=process: the adapted workspace served by `deployer_server.py` in its own process.

The server runs in its own virtual environment and session, so it outlives the caller; its
pid, start time and port are the runner state, and the next CLI call reattaches to it. What
every local server shares (identity, stop, port-race retry, logs) is core's
ProcessServerRunner; calls go through core's EnvelopeClient.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx

from deployer.plugin import (
    DeployFailedError,
    EnvelopeClient,
    ProcessServerRunner,
    RunnerContext,
    check_port_free,
    default_python,
    ensure_venv,
    failure,
    is_usable,
    log_excerpt,
    log_size,
    port_in_use_error,
    venv_python,
    wait_until_ready,
)

SERVER_FILE = "deployer_server.py"
INSTALL_LOG = "install.log"
PORT_FILE = "server.port"
HEALTH_TIMEOUT = 5.0
EXIT_IMPORT_FAILED = 3
EXIT_BIND_FAILED = 97
EXIT_PORT_IN_USE = 98


class LocalProcessRunner(ProcessServerRunner):
    """Runner of `local` with mode=process (the default)."""

    def __init__(self, context: RunnerContext, state: dict[str, Any] | None = None) -> None:
        super().__init__(context, state)
        self.client = EnvelopeClient(
            lambda: self.endpoint, name=context.name, timeout=context.run_timeout
        )

    @property
    def install_log(self) -> Path:
        return self.runtime_dir / INSTALL_LOG

    @property
    def port_file(self) -> Path:
        return self.runtime_dir / PORT_FILE

    def choose_port(self) -> int:
        return 0  # the server binds a free port itself and reports it: no race to lose

    def deploy(self) -> None:
        self.stop()
        self._prepare(reuse_venv=False)
        self.serve()

    def start(self) -> None:
        if self.is_healthy():
            return
        self.stop()  # a hung or dead server: clear what is left of it first
        self._prepare(reuse_venv=True)
        self.serve()

    def stop(self) -> None:
        venv = self.state.get("venv")
        super().stop()
        self.state.update(mode="process", venv=venv)
        self.port_file.unlink(missing_ok=True)

    def close(self) -> None:
        self.client.close()

    def is_healthy(self) -> bool:
        try:
            if not self.process_alive():
                return False
            return self.client.get("/health", timeout=HEALTH_TIMEOUT).status_code == 200
        except Exception:
            return False

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(inputs, dict):
            return failure(f"inputs must be a JSON object, got {type(inputs).__name__}")
        reason = self.unavailable_reason()
        if reason:
            return self.not_running(reason)
        return self.client.post_envelope("/run", inputs, on_transport_error=self._unreachable)

    def _unreachable(self, exc: httpx.HTTPError) -> dict[str, Any]:
        if not self.process_alive():
            return self.not_running("its server process exited during the call")
        return self.not_running(f"cannot reach 127.0.0.1:{self.port}: {type(exc).__name__}")

    # -- starting the server -----------------------------------------------------------------

    def _prepare(self, *, reuse_venv: bool) -> None:
        workspace = self.context.adapted_path
        check_port_free(int(self.context.options.get("port") or 0))
        if not (workspace / SERVER_FILE).is_file():
            raise DeployFailedError(
                f"{SERVER_FILE} is missing from the adapted workspace {workspace}",
                hint="deploy again so the local strategy's template is rendered",
            )
        venv = Path(self.state.get("venv") or "")
        if not (reuse_venv and self.state.get("venv") and is_usable(venv)):
            python = default_python(self.context.options.get("python") or None)
            venv = ensure_venv(workspace, python, self.install_log)
        self.state["venv"] = str(venv)

    def start_server(self, port: int) -> None:
        ctx = self.context
        venv = Path(self.state["venv"])
        self.port_file.unlink(missing_ok=True)
        log_offset = log_size(self.server_log)
        command = [
            str(venv_python(venv)), SERVER_FILE,
            "--port", str(port), "--port-file", str(self.port_file),
            "--entrypoint", ctx.run_interface.entrypoint,
            "--calling-convention", ctx.run_interface.calling_convention,
        ]  # fmt: skip
        proc = self.launch(
            command,
            cwd=ctx.adapted_path,
            env=self.serving_env(venv),
            mode="process",
            port=None,
            venv=str(venv),
        )
        try:
            self.state["port"] = wait_ready(
                proc,
                name=ctx.name,
                port_file=self.port_file,
                requested_port=port,
                log_path=self.server_log,
                log_offset=log_offset,
                timeout=ctx.startup_timeout,
            )
        except BaseException:
            self.stop()
            raise


def wait_ready(
    proc: subprocess.Popen[bytes],
    *,
    name: str,
    port_file: Path,
    requested_port: int,
    log_path: Path,
    log_offset: int,
    timeout: float,
) -> int:
    """Block until the server wrote its port and answers /health; return the port. Its exit
    codes say why it stopped: 98 the port is taken, 3 the entry point did not import."""
    found: list[int] = []

    def ready() -> bool:
        written = _read_port(port_file)
        if written is None:
            return False
        if client.get(f"http://127.0.0.1:{written}/health").status_code != 200:
            return False
        found.append(written)
        return True

    def on_exit(code: int) -> DeployFailedError | None:
        if code == EXIT_PORT_IN_USE:
            return port_in_use_error(requested_port)
        if code == EXIT_IMPORT_FAILED:
            return DeployFailedError(
                f"the server of {name!r} could not import the entry point"
                + log_excerpt(log_path, log_offset),
                hint=f"full log: {log_path}",
            )
        return None

    with httpx.Client(trust_env=False, timeout=2.0) as client:
        wait_until_ready(
            proc,
            ready,
            what=f"the server of {name!r}",
            log_path=log_path,
            log_offset=log_offset,
            timeout=timeout,
            on_exit=on_exit,
        )
    return found[-1]


def _read_port(port_file: Path) -> int | None:
    try:
        return int(port_file.read_text().strip())
    except (OSError, ValueError):
        return None
