"""Starting, finding and stopping the server process of a process-mode deployment.

A pid alone is not an identity: pids are recycled. Every check also compares the process start
time from /proc/<pid>/stat, so a stale state entry can never make us signal a stranger.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from deployer.errors import DeployFailedError, PortInUseError

EXIT_IMPORT_FAILED = 3
EXIT_BIND_FAILED = 97
EXIT_PORT_IN_USE = 98
STOP_GRACE = 5.0
LOG_LINES_ON_FAILURE = 20
PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat from the state onwards (the command name may hold spaces)."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def pid_start_time(pid: int) -> str | None:
    """The process start time in clock ticks since boot (field 22), or None if unknown."""
    fields = _stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None


def is_alive(pid: int | None, start_time: str | None = None) -> bool:
    """True if `pid` runs (not a zombie) and, when known, started at `start_time`."""
    if not pid:
        return False
    if PROC.is_dir():
        fields = _stat_fields(pid)
        if fields is None or fields[0] in {"Z", "X", "x"}:
            return False
        return start_time is None or (len(fields) > 19 and fields[19] == start_time)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return start_time is None
    return True


def port_in_use_error(port: int) -> PortInUseError:
    return PortInUseError(
        f"port {port} is already in use",
        hint="pick another with --option port=N, or use port=0 for a free one",
    )


def check_port_free(port: int) -> None:
    """Fail fast, before building anything, when a fixed port is taken.

    SO_REUSEADDR as the server uses it: only a live listener counts as taken, not connections
    of an earlier server lingering in TIME_WAIT.
    """
    if not port:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen(1)
        except OSError:
            raise port_in_use_error(port) from None


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
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command,
            cwd=workspace,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


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
    """Block until the server wrote its port and answers /health; return the port.

    On failure the process group is stopped and DeployFailedError carries the reason and the
    last lines this start wrote to the log.
    """
    deadline = time.monotonic() + timeout
    delay = 0.02
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while True:
            code = proc.poll()
            if code is not None:
                raise _exit_error(code, name, requested_port, log_path, log_offset)
            port = _read_port(port_file)
            if port is not None:
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                        return port
            if time.monotonic() >= deadline:
                terminate(proc.pid, proc.pid, pid_start_time(proc.pid), proc)
                raise DeployFailedError(
                    f"the server of {name!r} did not become healthy within {timeout:g}s"
                    + _log_excerpt(log_path, log_offset),
                    hint=f"raise the startup timeout if the solution loads slowly; log: {log_path}",
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)


def _read_port(port_file: Path) -> int | None:
    try:
        return int(port_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _exit_error(
    code: int, name: str, port: int, log_path: Path, log_offset: int
) -> DeployFailedError:
    if code == EXIT_PORT_IN_USE:
        return port_in_use_error(port)
    if code < 0:
        try:
            reason = f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            reason = f"was killed by signal {-code}"
    elif code == EXIT_IMPORT_FAILED:
        reason = "could not import the entry point"
    else:
        reason = f"exited with code {code}"
    return DeployFailedError(
        f"the server of {name!r} {reason} before becoming healthy"
        + _log_excerpt(log_path, log_offset),
        hint=f"full log: {log_path}",
    )


def _log_excerpt(log_path: Path, offset: int) -> str:
    text = read_tail(log_path, LOG_LINES_ON_FAILURE, start=offset).rstrip()
    return f"; last log lines:\n{text}" if text else ""


def read_tail(path: Path, lines: int | None, start: int = 0) -> str:
    """The last `lines` lines of a file from byte `start` on, without reading all of a big
    log."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            if lines is None or lines <= 0:
                handle.seek(start)
                return handle.read().decode("utf-8", errors="replace")
            position, data = size, b""
            while position > start and data.count(b"\n") <= lines:
                step = min(65536, position - start)
                position -= step
                handle.seek(position)
                data = handle.read(step) + data
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    kept = text.splitlines()[-lines:]
    return "\n".join(kept) + ("\n" if kept else "")


def terminate(
    pid: int | None,
    pgid: int | None,
    start_time: str | None,
    proc: subprocess.Popen[bytes] | None = None,
    grace: float = STOP_GRACE,
) -> None:
    """SIGTERM the server's process group, SIGKILL it after `grace` seconds. Idempotent.

    Nothing is signalled when the pid has been recycled by another process (start time
    differs); while the leader lives or is a zombie its pid, and so its group id, is ours.
    """
    if not pid:
        return
    group = pgid or pid
    if not _recycled(pid, start_time):
        if is_alive(pid, start_time):
            _signal_group(group, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and _running(pid, start_time, proc):
                time.sleep(0.05)
        # Whatever is left: a leader that ignored SIGTERM, or children the solution spawned.
        _signal_group(group, signal.SIGKILL)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)


def _recycled(pid: int, start_time: str | None) -> bool:
    """True when `pid` now belongs to another process than the one we started."""
    if start_time is None or not PROC.is_dir():
        return False
    fields = _stat_fields(pid)
    return fields is not None and len(fields) > 19 and fields[19] != start_time


def _running(pid: int, start_time: str | None, proc: subprocess.Popen[bytes] | None) -> bool:
    if proc is not None:
        return proc.poll() is None
    return is_alive(pid, start_time)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
