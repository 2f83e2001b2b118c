"""Dating log lines for `deployer logs --since` and `--json`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deployer.runtime.logtime import dated_lines, line_time, parse_since, since

LOG = """\
starting up
[deployer_runtime 2026-12-02 01:00:00] serving on 127.0.0.1:8000
called with a
[deployer_runtime 2026-12-02 01:05:00] 127.0.0.1:1 "POST /run HTTP/1.1" 200 success 1ms
2026-12-02T01:10:00Z worker INFO done
tail without a stamp
"""


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone()


def test_line_time_reads_the_runtime_logging_and_iso_forms() -> None:
    assert line_time("[deployer_runtime 2026-12-02 01:00:00] x") == local("2026-12-02T01:00:00")
    assert line_time("2026-12-02 01:00:00,123 INFO x") == local("2026-12-02T01:00:00")
    zoned = line_time("2026-12-02T01:00:00+02:00 x")
    assert zoned == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    assert line_time("2026-12-02T01:00:00Z x") == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert line_time("no stamp 12:00") is None
    assert line_time("2026-13-45 99:00:00 impossible") is None


def test_undated_lines_take_the_next_stamp_or_the_last_one() -> None:
    dated = dated_lines(LOG)
    assert [line for _, line in dated] == LOG.splitlines()
    assert dated[0][0] == local("2026-12-02T01:00:00")  # before the first stamp
    assert dated[2][0] == local("2026-12-02T01:05:00")  # a request's output: its access line
    assert dated[5][0] == datetime(2026, 12, 2, 1, 10, tzinfo=UTC)  # after the last stamp
    assert dated_lines("a\nb\n") == [(None, "a"), (None, "b")]


def test_since_keeps_lines_at_or_after_the_start_and_undatable_ones() -> None:
    kept = [line for _, line in since(LOG, local("2026-12-02T01:05:00"))]
    assert kept[0] == "called with a" and kept[-1] == "tail without a stamp" and len(kept) == 4
    assert [line for _, line in since("a\n", datetime.now(UTC))] == ["a"]


def test_parse_since_durations_dates_and_bad_values() -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert parse_since("90s", now) == now - timedelta(seconds=90)
    assert parse_since("10m", now) == now - timedelta(minutes=10)
    assert parse_since("1.5h", now) == now - timedelta(minutes=90)
    assert parse_since("2d", now) == now - timedelta(days=2)
    assert parse_since("2026-12-02T10:00+00:00") == datetime(2026, 12, 2, 10, tzinfo=UTC)
    assert parse_since("2026-12-02") == local("2026-12-02T00:00:00")
    for bad in ("yesterday", "10 parsecs", "", "-5m"):
        with pytest.raises(ValueError, match="neither a duration"):
            parse_since(bad)
