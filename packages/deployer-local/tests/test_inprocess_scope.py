"""scope.py: the cwd and streams an in-process call borrows, and its deadline."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from deployer_local.targets.scope import CallTimedOut, WorkspaceBusyError, borrowed, within


def test_borrowed_switches_cwd_and_streams_and_gives_them_back(tmp_path: Path) -> None:
    workspace, log = tmp_path / "ws", tmp_path / "run" / "inprocess.log"
    workspace.mkdir()
    cwd, stdout = os.getcwd(), sys.stdout
    with borrowed(workspace, log, wait=1):
        assert Path(os.getcwd()) == workspace
        print("into the log")
        os.write(1, b"fd one\n")
    assert os.getcwd() == cwd and sys.stdout is stdout
    assert log.read_text() == "into the log\nfd one\n"


def test_calls_of_one_workspace_share_and_another_workspace_waits(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    log = tmp_path / "log"
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with borrowed(first, log, wait=5):
            inside.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(5)
    with borrowed(first, log, wait=0.1):  # the same workspace: shared at once
        assert Path(os.getcwd()) == first
    busy = pytest.raises(WorkspaceBusyError, match="another in-process deployment")
    with busy, borrowed(second, log, wait=0.1):
        pass
    release.set()
    holder.join()
    with borrowed(second, log, wait=1):  # free again
        assert Path(os.getcwd()) == second


def test_within_stops_a_call_in_the_main_thread() -> None:
    with pytest.raises(CallTimedOut) as caught:
        within(0.2, lambda: time.sleep(30))
    assert caught.value.stopped and "it was stopped" in str(caught.value)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # no timer left armed
    assert within(5, lambda: 41 + 1) == 42
    signal.raise_signal(signal.SIGALRM)  # an alarm outside a call neither raises nor kills


def test_within_answers_at_the_deadline_from_another_thread() -> None:
    outcome: list[BaseException] = []

    def caller() -> None:
        try:
            within(0.2, lambda: time.sleep(2))
        except CallTimedOut as exc:
            outcome.append(exc)

    thread = threading.Thread(target=caller)
    thread.start()
    thread.join(10)
    assert outcome and not outcome[0].stopped  # type: ignore[attr-defined]
    assert "runs on in this process" in str(outcome[0])


def test_within_leaves_a_callers_own_alarm_handler_alone() -> None:
    def mine(signum: int, frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGALRM, mine)
    try:
        with pytest.raises(CallTimedOut):
            within(0.2, lambda: time.sleep(1))
        assert signal.getsignal(signal.SIGALRM) is mine
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_a_removed_log_is_opened_again(tmp_path: Path) -> None:
    workspace, log = tmp_path / "ws", tmp_path / "run" / "inprocess.log"
    workspace.mkdir()
    with borrowed(workspace, log, wait=1):
        print("first")
    log.unlink()  # `deployer rm` removes the deployment's directory; a new deploy reuses the name
    with borrowed(workspace, log, wait=1):
        print("second")
    assert log.read_text() == "second\n"
