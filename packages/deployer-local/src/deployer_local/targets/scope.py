"""What an in-process call borrows from the process it runs in, and its deadline.

A call runs with the deployment's workspace as its working directory, so a solution that
writes relative paths writes into its own copy, never into the caller's directory (the
original repository when `deployer run` is called from inside it). Its `print()` output, and
whatever a subprocess it starts writes to fd 1 and 2, goes to the deployment's log, so the
stdout of `deployer run` carries the JSON envelope only.

The working directory and the standard streams belong to the whole process, not to a thread:
calls of one workspace share the borrow (they may run in parallel threads), and a call of
another workspace waits until the last of them has returned and everything is given back.

The deadline: in the main thread a SIGALRM timer raises `CallTimedOut` inside the solution's
code, which stops the call (Python code and interruptible waits such as `time.sleep`); once
installed, deployer's handler stays and ignores an alarm outside a call. Where a signal cannot
be used (another thread, or the caller has a SIGALRM handler of its own) the call
runs in a daemon thread and the caller gets its answer at the deadline; the call itself runs
on until it returns, since Python cannot stop a thread.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any, TypeVar

T = TypeVar("T")


class CallTimedOut(BaseException):
    """Raised inside a call that overran its deadline. A BaseException, so that a solution's
    own `except Exception:` does not swallow it."""

    def __init__(self, seconds: float, *, stopped: bool = True) -> None:
        then = "it was stopped" if stopped else "it runs on in this process until it returns"
        super().__init__(f"took longer than the run timeout ({seconds:g}s); {then}")
        self.seconds, self.stopped = seconds, stopped


class WorkspaceBusyError(RuntimeError):
    """Another workspace's call holds the process's working directory and streams."""


class _Borrow:
    """The process's cwd and standard streams, lent to one workspace at a time."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.workspace: Path | None = None
        self.holders = 0
        self.saved_cwd: str | None = None
        self.saved_streams: tuple[Any, Any] | None = None
        self.saved_fds: list[tuple[int, int]] = []
        self.log: IO[str] | None = None
        self.logs: dict[Path, IO[str]] = {}  # opened once per log: an open costs more than a call

    def enter(self, workspace: Path, log_path: Path, wait: float) -> None:
        with self.condition:
            free = self.holders == 0 or self.workspace == workspace  # no waiting: the usual case
            if not free:
                free = self.condition.wait_for(
                    lambda: self.holders == 0 or self.workspace == workspace, timeout=wait
                )
            if not free:
                raise WorkspaceBusyError(
                    f"a call of another in-process deployment ({self.workspace}) is still "
                    "running in this process"
                )
            if self.holders == 0:
                self._take(workspace, log_path)
            self.holders += 1

    def leave(self) -> None:
        with self.condition:
            self.holders -= 1
            if self.holders == 0:
                self._give_back()
                self.condition.notify_all()

    def _take(self, workspace: Path, log_path: Path) -> None:
        try:
            self.saved_cwd = os.getcwd()
        except OSError:  # the caller's directory was deleted: nothing to go back to
            self.saved_cwd = None
        os.chdir(workspace)
        try:
            log = self._log(log_path)
        except OSError:
            self._restore_cwd()
            raise
        self.workspace, self.log = workspace, log
        for stream in (sys.stdout, sys.stderr):
            try:  # noqa: SIM105 - every call passes here: no context manager per stream
                stream.flush()
            except Exception:  # a closed or odd stream: nothing to flush
                pass
        self.saved_streams = (sys.stdout, sys.stderr)
        self.saved_fds = []
        for fd in (1, 2):  # subprocesses and C code write to the descriptors, not sys.stdout
            try:
                self.saved_fds.append((fd, os.dup(fd)))
                os.dup2(log.fileno(), fd)
            except OSError:
                continue
        sys.stdout = sys.stderr = log

    def _log(self, log_path: Path) -> IO[str]:
        log = self.logs.get(log_path)
        if log is None or log.closed or os.fstat(log.fileno()).st_nlink == 0:  # log removed
            if log is not None:
                with contextlib.suppress(Exception):
                    log.close()
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log = open(log_path, "a", encoding="utf-8", errors="replace", buffering=1)  # noqa: SIM115
            self.logs[log_path] = log
        return log

    def _give_back(self) -> None:
        try:
            if self.log is not None:
                self.log.flush()
        except Exception:  # the solution closed it: the next borrow opens it again
            pass
        if self.saved_streams is not None:
            sys.stdout, sys.stderr = self.saved_streams
        for fd, saved in self.saved_fds:
            try:
                os.dup2(saved, fd)
                os.close(saved)
            except OSError:
                continue
        self._restore_cwd()
        self.workspace, self.log, self.saved_streams, self.saved_fds = None, None, None, []

    def _restore_cwd(self) -> None:
        if self.saved_cwd is not None:
            with contextlib.suppress(OSError):
                os.chdir(self.saved_cwd)
        self.saved_cwd = None


_BORROW = _Borrow()


@contextlib.contextmanager
def borrowed(workspace: Path, log_path: Path, wait: float) -> Iterator[None]:
    """Run the block with `workspace` as cwd and stdout/stderr going to `log_path`; wait at
    most `wait` seconds for another workspace's calls to give the process back."""
    _BORROW.enter(workspace, log_path, wait)
    try:
        yield
    finally:
        _BORROW.leave()


_ARMED: list[float] = []  # the run timeout of the main thread's call in progress


def _on_alarm(signum: int, frame: object) -> None:
    if _ARMED:
        raise CallTimedOut(_ARMED[-1])
    # otherwise ignored: a late alarm of a call that has just returned must not end the process


def _alarm_usable() -> bool:
    """Whether this call can be bounded by SIGALRM. deployer's handler is installed once (a
    `signal.signal` pair costs more than the call), and only over the default one."""
    if threading.current_thread() is not threading.main_thread():
        return False
    current = signal.getsignal(signal.SIGALRM)
    if current is not _on_alarm:
        if current not in (signal.SIG_DFL, None):
            return False  # the caller's own handler: leave it alone
        signal.signal(signal.SIGALRM, _on_alarm)
    return signal.getitimer(signal.ITIMER_REAL)[0] == 0


def _with_alarm(seconds: float, function: Callable[[], T]) -> T:
    _ARMED.append(seconds)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return function()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    finally:  # also when the alarm fired in the inner finally
        _ARMED.pop()


def _in_thread(seconds: float, function: Callable[[], T]) -> T:
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            outcome["value"] = function()
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="deployer-inprocess-call", daemon=True).start()
    if not done.wait(seconds):
        raise CallTimedOut(seconds, stopped=False)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def within(
    seconds: float,
    function: Callable[[], T],
    scope: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext,
) -> T:
    """`function()` inside `scope()`, raising CallTimedOut after `seconds`."""
    if _alarm_usable():
        with scope():
            return _with_alarm(seconds, function)

    def scoped() -> T:
        with scope():
            return function()

    return _in_thread(seconds, scoped)
