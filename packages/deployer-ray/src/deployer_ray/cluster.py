"""Private Ray clusters on this machine: `ray start --block` nodes we start and stop by pid.

`ray stop` would stop every Ray process of the user, so each node here is one `ray start
--block` process in its own session with its own temp dir; stopping it terminates that process
(which stops its daemons) and then sweeps whatever is left in its session.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from deployer.plugin import DeployFailedError


@dataclass(frozen=True)
class Node:
    pid: int
    temp_dir: str
    address: str


def ray_cli() -> str:
    beside = Path(sys.executable).with_name("ray")
    return str(beside) if beside.is_file() else (shutil.which("ray") or "ray")


def _spawn(args: list[str], temp_dir: Path) -> subprocess.Popen[bytes]:
    temp_dir.mkdir(parents=True, exist_ok=True)
    log = (temp_dir / "ray-start.log").open("ab")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1"}
    env.pop("RAY_ADDRESS", None)
    return subprocess.Popen(
        [ray_cli(), "start", "--block", "--disable-usage-stats", f"--temp-dir={temp_dir}", *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )


def _wait(proc: subprocess.Popen[bytes], temp_dir: Path, ready: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    log = temp_dir / "ray-start.log"
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
        if ready in text:
            return
        if proc.poll() is not None:
            lines = [line for line in text.splitlines() if line.strip()]
            last = lines[-1] if lines else f"exit code {proc.returncode}"
            raise DeployFailedError(f"ray start failed: {last.strip()[:300]}")
        time.sleep(0.2)
    stop_node(proc.pid)
    raise DeployFailedError(f"ray start did not come up within {timeout:.0f}s (see {log})")


# Ray gives a new raylet a hard-coded 30 s to register with the GCS; on a loaded machine that
# can pass before it has, and `ray start` gives up with this line. Starting again then works.
_SLOW_START = "timed out during startup"


def _start(
    args: list[str], temp_dir: Path, timeout: float, attempts: int = 2
) -> subprocess.Popen[bytes]:
    """`ray start --block ...` until it reports the runtime started (a slow start retried)."""
    for attempt in range(attempts):
        proc = _spawn(args, temp_dir)
        try:
            _wait(proc, temp_dir, "Ray runtime started", timeout)
            return proc
        except DeployFailedError as exc:
            stop_node(proc.pid)
            if _SLOW_START not in exc.message or attempt == attempts - 1:
                raise
            (temp_dir / "ray-start.log").unlink(missing_ok=True)
    raise AssertionError("unreachable")


def start_head(temp_dir: Path, num_cpus: int = 2, timeout: float = 90.0) -> Node:
    """A head node on this machine, dashboard off, GCS on a port Ray picks."""
    args = ["--head", "--port=0", "--include-dashboard=false", f"--num-cpus={num_cpus}"]
    proc = _start(args, temp_dir, timeout)
    address = (temp_dir / "ray_current_cluster").read_text(encoding="utf-8").strip()
    return Node(proc.pid, str(temp_dir), address)


def start_worker(
    address: str,
    temp_dir: Path,
    num_cpus: int = 1,
    resources: dict[str, float] | None = None,
    timeout: float = 90.0,
) -> Node:
    """A worker node joined to `address`, with its own temp dir and custom resources."""
    args = [f"--address={address}", f"--num-cpus={num_cpus}"]
    if resources:
        args.append(f"--resources={json.dumps(resources)}")
    proc = _start(args, temp_dir, timeout)
    return Node(proc.pid, str(temp_dir), address)


def node_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop_node(pid: int, timeout: float = 20.0) -> None:
    """Stop the `ray start --block` process `pid` and every process left in its session."""
    try:
        session = os.getsid(pid)
    except OSError:
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
    with contextlib.suppress(psutil.Error):
        psutil.Process(pid).wait(timeout)
    left = []
    for proc in psutil.process_iter():
        try:
            if proc.pid != os.getpid() and os.getsid(proc.pid) == session:
                left.append(proc)
        except (OSError, psutil.Error):
            continue
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(left, timeout=5)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
