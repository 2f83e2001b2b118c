"""When a log line was written, for `deployer logs --since` and `--json`.

Server logs are plain text written by the solution and its server: lines that carry a
timestamp (the serving runtime's `[deployer_runtime 2026-12-02 01:56:51]`, Python logging's
`2026-12-02 01:56:51,123`, ISO 8601 with a zone) are dated by it; a line without one (a
print, a traceback) takes the date of the next dated line (the runtime writes a request's
access line after the output the request made), or of the last one when none follows. Naive
stamps are local time, as the runtime writes them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_STAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:[.,]\d+)?(Z|[+-]\d{2}:?\d{2})?(?!\d)"
)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def line_time(line: str) -> datetime | None:
    """The first timestamp in a line, as an aware datetime, or None."""
    found = _STAMP.search(line)
    if found is None:
        return None
    day, clock, zone = found.groups()
    text = f"{day}T{clock}" + ("+00:00" if zone == "Z" else (zone or ""))
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.astimezone()  # naive: local time


def dated_lines(text: str) -> list[tuple[datetime | None, str]]:
    """Each line (without its newline) with the time it was written, as far as it can be
    told (see the module docstring); None only when no line in the text has a stamp."""
    lines = text.splitlines()
    stamps = [line_time(line) for line in lines]
    dated: list[tuple[datetime | None, str]] = []
    following: datetime | None = None
    for index in range(len(lines) - 1, -1, -1):  # backwards: the next stamp is known
        following = stamps[index] or following
        dated.append((following, lines[index]))
    dated.reverse()
    last: datetime | None = None
    for index, (when, line) in enumerate(dated):
        last = stamps[index] or last
        if when is None:
            dated[index] = (last, line)
    return dated


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """`90s`, `10m`, `2h`, `1d` (ago), or an ISO date/time (naive: local time)."""
    text = value.strip()
    duration = _DURATION.fullmatch(text)
    if duration:
        amount, unit = duration.groups()
        return (now or datetime.now(UTC)) - timedelta(seconds=float(amount) * _UNITS[unit])
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a duration (30s, 10m, 2h, 1d) nor a date/time (2026-12-02T10:00)"
        ) from None
    return stamp if stamp.tzinfo else stamp.astimezone()


def since(text: str, start: datetime) -> list[tuple[datetime | None, str]]:
    """The dated lines written at or after `start` (undatable lines are all kept)."""
    return [(when, line) for when, line in dated_lines(text) if when is None or when >= start]
