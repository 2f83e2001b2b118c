"""Run timeouts without a thread hand-off per request.

The call runs in the request's own thread (handing it to a pool costs throughput); a single
watchdog thread holds the deadlines in arrival order (all have the same length, so a FIFO is
sorted) and, when one passes, answers the request with a timeout envelope from a short-lived
thread of its own. A Python thread cannot be killed: a synchronous call keeps running until it
returns (its result is dropped); a coroutine is cancelled.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class Deadline:
    __slots__ = ("at", "done", "fire", "fired", "lock", "timed_out")

    def __init__(self, at: float, fire: Callable[[], None]) -> None:
        self.at = at
        self.fire = fire
        self.done = False
        self.timed_out = False
        self.lock = threading.Lock()
        self.fired: threading.Event | None = None

    def disarm(self) -> bool:
        """True if the call finished in time (the caller answers); False if the watchdog did,
        in which case this waits until the timeout answer is written."""
        with self.lock:
            if not self.timed_out:
                self.done = True
                return True
        if self.fired is not None:
            self.fired.wait(30)
        return False

    def trigger(self) -> None:
        with self.lock:
            if self.done:
                return
            self.done = True
            self.timed_out = True
            self.fired = threading.Event()
        threading.Thread(target=self._fire, name="deployer-runtime-timeout", daemon=True).start()

    def _fire(self) -> None:
        try:
            self.fire()
        finally:
            assert self.fired is not None
            self.fired.set()


class Watchdog:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.queue: deque[Deadline] = deque()
        self.cond = threading.Condition()
        self.wake_at = float("inf")  # when the watchdog thread wakes next on its own
        threading.Thread(target=self._loop, name="deployer-runtime-watchdog", daemon=True).start()

    def arm(self, fire: Callable[[], None]) -> Deadline:
        deadline = Deadline(time.monotonic() + self.seconds, fire)
        with self.cond:
            queue = self.queue
            while queue and queue[0].done:
                queue.popleft()
            queue.append(deadline)
            if deadline.at < self.wake_at:  # rare: waking the thread per request costs ~10 %
                self.cond.notify()
        return deadline

    def _loop(self) -> None:
        with self.cond:
            while True:
                queue = self.queue
                while queue and queue[0].done:
                    queue.popleft()
                if not queue:
                    self.wake_at = float("inf")
                    self.cond.wait()
                    continue
                wait = queue[0].at - time.monotonic()
                if wait > 0:
                    self.wake_at = queue[0].at
                    self.cond.wait(wait)
                    continue
                queue.popleft().trigger()
