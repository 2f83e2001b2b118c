"""deployer.testing.SteadyCalls, the helper every strategy's versions tests watch a redeploy
with: answers kept in order, a raising call counted as failed without ending the calls."""

from __future__ import annotations

import itertools
import time

from deployer.testing import SteadyCalls, wait_until


def test_steady_calls_keep_answers_and_count_a_raising_call_as_failed() -> None:
    counter = itertools.count()

    def call() -> dict:
        n = next(counter)
        if n == 2:
            raise ConnectionError("server went away")
        if n == 3:
            return {"status": "error", "error": "busy"}
        return {"status": "success", "output": n}

    with SteadyCalls(call, pause=0.001) as calls:
        wait_until(lambda: len(calls.results) >= 6, interval=0.01)
    count = len(calls.results)
    time.sleep(0.05)
    assert len(calls.results) == count  # the calls ended with the block
    assert count >= 6
    assert [r["status"] for r in calls.failed()] == ["error", "error"]
    assert "ConnectionError('server went away')" in calls.failed()[0]["error"]
    assert calls.outputs()[:3] == [0, 1, 4]
