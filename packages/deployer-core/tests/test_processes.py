"""Process identity through psutil (creation time, not the pid alone), descendants across
sessions, and stopping a whole tree: real processes."""

from __future__ import annotations

import subprocess
import sys

from deployer.runtime.processes import descendants, is_alive, pid_start_time, terminate
from deployer.testing import wait_until

SLEEP = [sys.executable, "-c", "import time; time.sleep(600)"]
# a child in a session of its own, which the process group alone does not reach
SPAWNER = [
    sys.executable,
    "-c",
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
    " start_new_session=True)\n"
    "time.sleep(600)\n",
]


def test_identity_is_pid_and_creation_time() -> None:
    proc = subprocess.Popen(SLEEP, start_new_session=True)
    try:
        started = pid_start_time(proc.pid)
        assert started is not None and started == pid_start_time(proc.pid)
        assert is_alive(proc.pid, started) and is_alive(proc.pid)
        # a recycled pid: same number, another start time, is not ours
        assert not is_alive(proc.pid, repr(float(started) - 1000.0))
    finally:
        terminate(proc.pid, proc.pid, started, proc, grace=2)
    assert not is_alive(proc.pid, started)


def test_a_zombie_is_not_alive_and_unknown_pids_are_not_alive() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    assert wait_until(lambda: not is_alive(proc.pid), limit=20)  # exited, not yet reaped: a zombie
    proc.wait()
    assert not is_alive(None) and pid_start_time(2**22 + 12345) is None


def test_descendants_in_other_sessions_are_found_and_stopped() -> None:
    proc = subprocess.Popen(SPAWNER, start_new_session=True)
    started = pid_start_time(proc.pid)
    assert wait_until(lambda: len(descendants(proc.pid)) == 1, limit=20)
    [(child, child_started)] = descendants(proc.pid)
    assert is_alive(child, child_started)
    terminate(proc.pid, proc.pid, started, proc, grace=2)
    assert wait_until(lambda: not is_alive(child, child_started), limit=20)
    assert not is_alive(proc.pid, started)


def test_terminate_never_signals_a_recycled_pid() -> None:
    proc = subprocess.Popen(SLEEP, start_new_session=True)
    try:
        terminate(proc.pid, proc.pid, "1.0", None, grace=0.2)  # a stale record
        assert is_alive(proc.pid)
    finally:
        proc.kill()
        proc.wait()
