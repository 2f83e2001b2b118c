"""Server processes that outlive the command that started them: start, check, stop.

Shared by strategies that run a local server process (deployer-local's process mode, bentoml
serve, langgraph dev). A pid alone is not an identity: pids are recycled. Every check also
compares the process creation time (psutil, so Linux and macOS alike), so a stale state entry
can never make us signal a stranger. Processes run in their own session, so they survive the
CLI call that started them and stop as a group, children included.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from deployer.errors import DeployFailedError, PortInUseError

STOP_GRACE = 5.0
LOG_LINES_ON_FAILURE = 20


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except (psutil.Error, ValueError):
        return None


def pid_start_time(pid: int) -> str | None:
    """The process's creation time (psutil, seconds since the epoch, as text), or None."""
    process = _process(pid)
    if process is None:
        return None
    try:
        return repr(process.create_time())
    except psutil.Error:
        return None


def is_alive(pid: int | None, start_time: str | None = None) -> bool:
    """True if `pid` runs (not a zombie) and, when known, started at `start_time`."""
    if not pid:
        return False
    process = _process(pid)
    if process is None:
        return False
    try:
        if process.status() in {psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD}:
            return False
        return start_time is None or repr(process.create_time()) == start_time
    except psutil.AccessDenied:
        return start_time is None
    except psutil.Error:
        return False


def port_in_use_error(port: int) -> PortInUseError:
    return PortInUseError(
        f"port {port} is already in use",
        hint="pick another with --option port=N, or use port=0 for a free one",
    )


def port_taken(port: int) -> bool:
    """True when something listens on 127.0.0.1:port (SO_REUSEADDR: TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen(1)
        except OSError:
            return True
    return False


def check_port_free(port: int) -> None:
    """Fail fast, before building anything, when a fixed port is taken."""
    if port and port_taken(port):
        raise port_in_use_error(port)


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


def descendants(pid: int) -> list[tuple[int, str | None]]:
    """Every process below `pid`, with its start time. Servers such as BentoML's arbiter start
    workers in sessions of their own, which the process group alone does not reach."""
    process = _process(pid)
    if process is None:
        return []
    try:
        children = process.children(recursive=True)
    except psutil.Error:
        return []
    return [(child.pid, pid_start_time(child.pid)) for child in children]


def terminate(
    pid: int | None,
    pgid: int | None,
    start_time: str | None,
    proc: subprocess.Popen[bytes] | None = None,
    grace: float = STOP_GRACE,
) -> None:
    """SIGTERM the server's process group, SIGKILL what is left of it (and of descendants that
    left the group) after `grace` seconds. Idempotent.

    Nothing is signalled when the pid has been recycled by another process (start time
    differs); while the leader lives or is a zombie its pid, and so its group id, is ours.
    """
    if not pid:
        return
    group = pgid or pid
    below: list[tuple[int, str | None]] = []
    if not _recycled(pid, start_time):
        if is_alive(pid, start_time):
            below = descendants(pid)
            _signal_group(group, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and (
                _running(pid, start_time, proc) or any(is_alive(p, s) for p, s in below)
            ):
                time.sleep(0.05)
        # Whatever is left: a leader that ignored SIGTERM, or children the solution spawned.
        _signal_group(group, signal.SIGKILL)
        for child, child_start in below:
            if is_alive(child, child_start):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(child, signal.SIGKILL)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)


def _recycled(pid: int, start_time: str | None) -> bool:
    """True when `pid` now belongs to another process than the one we started."""
    if start_time is None:
        return False
    now = pid_start_time(pid)
    return now is not None and now != start_time


def _running(pid: int, start_time: str | None, proc: subprocess.Popen[bytes] | None) -> bool:
    if proc is not None:
        return proc.poll() is None
    return is_alive(pid, start_time)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def free_port() -> int:
    """A port that was free a moment ago (prefer letting the server bind port 0 itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def spawn(
    command: list[str], *, cwd: Path, env: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """Start `command` in its own session with its output appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        try:
            return subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise DeployFailedError(f"cannot start {command[0]}: {exc}") from None


def log_size(path: Path) -> int:
    """Where this start's output begins in an appended log."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def log_excerpt(log_path: Path, offset: int, lines: int = LOG_LINES_ON_FAILURE) -> str:
    text = read_tail(log_path, lines, start=offset).rstrip()
    return f"; last log lines:\n{text}" if text else ""


_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit)): (.+)$", re.MULTILINE)
_MISSING_MODULE = re.compile(r"No module named '([\w.]+)'")


def root_cause(log_text: str) -> str | None:
    """The first exception line of a Python traceback in a log, e.g. `ModuleNotFoundError: No
    module named 'x'`: Python prints a chain's cause first, so this is the root, not the last
    wrapper (`ImportFailed: ...`) that carried it."""
    found = _EXCEPTION_LINE.search(log_text)
    return f"{found.group(1).rsplit('.', 1)[-1]}: {found.group(2).strip()}"[:300] if found else None


def missing_module_hint(cause: str | None, declared_in: str | None = None) -> str | None:
    """For `No module named 'x'`: where the dependency should have been declared."""
    found = _MISSING_MODULE.search(cause or "")
    if not found:
        return None
    top = found.group(1).split(".")[0]
    where = declared_in or "requirements.txt"
    return (
        f"declare the package that provides {top!r} in {where} (its PyPI name may differ, "
        "e.g. python-slugify for slugify), then deploy again"
    )


def exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def wait_until_ready(
    proc: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    *,
    what: str,
    log_path: Path,
    log_offset: int,
    timeout: float,
    on_exit: Callable[[int], DeployFailedError | None] | None = None,
) -> None:
    """Poll `ready()` until it is true; fail clearly when the process exits or time runs out.

    On failure the process group is stopped and DeployFailedError carries the reason and the
    last lines this start wrote to the log. `on_exit` may turn a known exit code into a more
    specific error (a port in use, say).
    """
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        code = proc.poll()
        if code is not None:
            special = on_exit(code) if on_exit is not None else None
            raise special or DeployFailedError(
                f"{what} {exit_reason(code)} before becoming healthy"
                + log_excerpt(log_path, log_offset),
                hint=f"full log: {log_path}",
            )
        with contextlib.suppress(Exception):
            if ready():
                return
        if time.monotonic() >= deadline:
            terminate(proc.pid, proc.pid, pid_start_time(proc.pid), proc)
            raise DeployFailedError(
                f"{what} did not become healthy within {timeout:g}s"
                + log_excerpt(log_path, log_offset),
                hint=f"raise the startup timeout if the solution loads slowly; log: {log_path}",
            )
        time.sleep(delay)
        delay = min(delay * 1.25, 0.25)  # fine-grained first: most servers are up in < 0.5 s
