"""The `bentoml serve` process of a local deployment, through core's `deployer.runtime.processes`.

`bentoml serve` runs in its own session; stopping signals the whole group and the workers the
arbiter starts in sessions of their own (core's terminate follows descendants).
"""

from __future__ import annotations

from pathlib import Path

from deployer.runtime.processes import (
    descendants,
    free_port,
    is_alive,
    pid_start_time,
    port_taken,
    read_tail,
    terminate,
)
from deployer.runtime.processes import spawn as launch

__all__ = [
    "descendants",
    "free_port",
    "is_alive",
    "launch",
    "pid_start_time",
    "port_taken",
    "read_from",
    "read_tail",
    "terminate",
]


def read_from(path: Path, start: int) -> str:
    """Everything a log gained since byte `start` (this start's output)."""
    return read_tail(path, None, start=start)
