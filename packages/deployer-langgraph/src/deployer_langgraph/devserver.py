"""Starting, finding and stopping a `langgraph dev` process (the dev target).

The server runs in its own session (so it outlives the caller and stops as a group), with the
adapted workspace as working directory (its `.langgraph_api/` files land there, never in the
user's original), on 127.0.0.1. A pid alone is not an identity: every check also compares the
process start time from /proc/<pid>/stat, so a stale state entry never signals a stranger.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from deployer.errors import DeployFailedError
from deployer.runtime import processes
from deployer.runtime.processes import (
    check_port_free,
    free_port,
    is_alive,
    pid_start_time,
)
from deployer.runtime.processes import port_in_use_error as port_in_use

__all__ = [
    "check_port_free",
    "free_port",
    "is_alive",
    "pid_start_time",
    "port_in_use",
    "read_tail",
    "terminate",
]

STOP_GRACE = 10.0
LOG_LINES_ON_FAILURE = 25
PROC = Path("/proc")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ADDRESS_IN_USE = re.compile(r"address already in use|Errno 98", re.IGNORECASE)
_KEY_LINES = (
    re.compile(r"(GraphLoadError: .*)"),
    re.compile(r"^(Error: .*)$", re.MULTILINE),
    re.compile(r"^((?:[A-Za-z_.]+)?(?:Error|Exception): .*)$", re.MULTILINE),
)


# -- processes and ports: core's deployer.runtime.processes --------------------------------------


def terminate(
    pid: int | None,
    start_time: str | None,
    proc: subprocess.Popen[bytes] | None = None,
    grace: float = STOP_GRACE,
) -> None:
    """Stop the server's group and anything it spawned. SIGTERM first, with a longer grace
    than core's default: it lets the dev server flush `.langgraph_api/` (threads survive)."""
    processes.terminate(pid, pid, start_time, proc, grace=grace)


# -- launching ------------------------------------------------------------------------------


def command(python: str, port: int, *, allow_blocking: bool) -> list[str]:
    """`langgraph dev` as a module of the launcher interpreter: no reload, no browser."""
    args = [python, "-m", "langgraph_cli", "dev", "--no-browser", "--no-reload"]
    args += ["--host", "127.0.0.1", "--port", str(port), "--config", "langgraph.json"]
    if allow_blocking:
        args.append("--allow-blocking")
    return args


def launch(
    args: list[str], workspace: Path, log_path: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start the server in its own session, output appended to `log_path` after the command."""
    with log_path.open("ab") as log:
        log.write(f"$ {' '.join(args)}  (in {workspace})\n".encode())
    try:
        return processes.spawn(args, cwd=workspace, env=env, log_path=log_path)
    except DeployFailedError as exc:
        exc.hint = "pass --option python=/path/to/python with langgraph-cli[inmem] installed"
        raise


class AddressInUse(Exception):
    """The port picked as free was taken before the server bound it (retry with another)."""


def wait_ready(
    proc: subprocess.Popen[bytes],
    *,
    name: str,
    probe: Callable[[], bool],
    log_path: Path,
    log_offset: int,
    timeout: float,
) -> None:
    """Block until `probe()` (GET /ok through the SDK's client) says ready. On failure the
    process group is stopped and DeployFailedError carries the server's own reason and the
    last lines it logged."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        code = proc.poll()
        if code is not None:
            terminate(proc.pid, None, proc, grace=1.0)  # children it may have left
            text = read_from(log_path, log_offset)
            if _ADDRESS_IN_USE.search(text):
                raise AddressInUse()
            raise DeployFailedError(
                f"langgraph dev for {name!r} exited with code {code} before becoming ready"
                + _reason(text)
                + _excerpt(text),
                hint=f"full log: {log_path}",
            )
        with contextlib.suppress(Exception):  # not listening yet
            if probe():
                return
        if time.monotonic() >= deadline:
            terminate(proc.pid, pid_start_time(proc.pid), proc)
            raise DeployFailedError(
                f"langgraph dev for {name!r} did not become ready within {timeout:g}s"
                + _excerpt(read_from(log_path, log_offset)),
                hint=f"raise the startup timeout if the graph loads slowly; log: {log_path}",
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


# -- logs -----------------------------------------------------------------------------------


def clean(text: str) -> str:
    """Without terminal colour codes (in case LOG_COLOR was overridden)."""
    return _ANSI.sub("", text)


def read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return clean(handle.read().decode("utf-8", errors="replace"))
    except OSError:
        return ""


def read_tail(path: Path, lines: int | None) -> str:
    """The last `lines` lines of a log, without colour codes."""
    return clean(processes.read_tail(path, lines))


def _reason(text: str) -> str:
    """The line that says what went wrong (a graph that failed to load, a usage error)."""
    for pattern in _KEY_LINES:
        found = pattern.findall(text)
        if found:
            return f": {found[-1].strip()}"
    return ""


def _excerpt(text: str) -> str:
    kept = [line for line in text.rstrip().splitlines() if line.strip()]
    tail = "\n".join(kept[-LOG_LINES_ON_FAILURE:])
    return f"; last log lines:\n{tail}" if tail else ""
