"""Waiting for an asynchronous effect in a test, bounded, instead of sleeping a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["wait_until"]


def wait_until(
    condition: Callable[[], object], limit: float = 30.0, interval: float = 0.05
) -> bool:
    """Check `condition` every `interval` seconds until it holds or `limit` seconds pass.

    Returns the answer of the last check, made once more after the limit, so an effect that
    lands during the final sleep still counts. Asserting on the result keeps a test fast
    where the effect is quick (a process gone, a port closed, a log line written) and still
    patient on a loaded machine.
    """
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())
