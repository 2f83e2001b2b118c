"""Numbers read from environment variables (timeouts, retries, budgets): one reader, so a bad
value falls back to the default the same way everywhere."""

from __future__ import annotations

import math
import os


def env_float(name: str, default: float) -> float:
    """A finite number from `$name`, or `default` when unset, empty or not a finite number."""
    try:
        value = float(os.environ.get(name, "") or default)
    except ValueError:
        return default
    return value if math.isfinite(value) else default


def env_int(name: str, default: int) -> int:
    """An integer from `$name`, or `default` when unset, empty or not an integer."""
    try:
        return int(os.environ.get(name, "") or default)
    except ValueError:
        return default
