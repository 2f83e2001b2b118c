"""Starting the stdlib server of a process-mode deployment and waiting until it is ready.

The generic parts (pid identity, stopping a process group, log tails, readiness polling) are
core's `deployer.runtime.processes`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from deployer.errors import DeployFailedError
from deployer.runtime.processes import (
    is_alive,
    log_excerpt,
    pid_start_time,
    port_in_use_error,
    read_tail,
    spawn,
    terminate,
    wait_until_ready,
)

__all__ = ["is_alive", "launch", "pid_start_time", "read_tail", "terminate", "wait_ready"]

EXIT_IMPORT_FAILED = 3
EXIT_BIND_FAILED = 97
EXIT_PORT_IN_USE = 98


def launch(
    python: Path,
    workspace: Path,
    *,
    port: int,
    port_file: Path,
    log_path: Path,
    env: dict[str, str],
    entrypoint: str,
    calling_convention: str,
) -> subprocess.Popen[bytes]:
    """Start deployer_server.py in its own session, so it outlives the caller and can be
    stopped as a group (with any children the solution spawned)."""
    port_file.unlink(missing_ok=True)
    command = [
        str(python),
        "deployer_server.py",
        "--port",
        str(port),
        "--port-file",
        str(port_file),
        "--entrypoint",
        entrypoint,
        "--calling-convention",
        calling_convention,
    ]
    return spawn(command, cwd=workspace, env=env, log_path=log_path)


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
    """Block until the server wrote its port and answers /health; return the port."""
    found: list[int] = []

    def ready() -> bool:
        port = _read_port(port_file)
        if port is None:
            return False
        if client.get(f"http://127.0.0.1:{port}/health").status_code != 200:
            return False
        found.append(port)
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
