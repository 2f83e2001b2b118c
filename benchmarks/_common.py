"""Helpers shared by the benchmark scripts: statistics, plain-text tables, isolated state.

Not a benchmark itself. The scripts import it as `_common` (they run as
`python benchmarks/<script>.py`, which puts this directory on `sys.path`; a strategy
package's own benchmark puts it there itself).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
# Variables that change what deployer loads or prints; cleared so figures are comparable.
_DEPLOYER_VARS = ("DEPLOYER_STRATEGIES", "DEPLOYER_TRACE_HOOKS", "DEPLOYER_STRICT_PLUGINS")


@dataclass(frozen=True)
class Stats:
    """Summary of repeated measurements, in the unit they were given in."""

    n: int
    mean: float
    median: float
    min: float
    max: float
    p95: float
    stdev: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        if not values:
            raise ValueError("no measurements")
        ordered = sorted(values)
        # Nearest-rank percentile: the smallest value with at least 95% of samples at or below.
        rank = max(0, -(-95 * len(ordered) // 100) - 1)
        return cls(
            n=len(ordered),
            mean=statistics.fmean(ordered),
            median=statistics.median(ordered),
            min=ordered[0],
            max=ordered[-1],
            p95=ordered[rank],
            stdev=statistics.stdev(ordered) if len(ordered) > 1 else 0.0,
        )

    def scaled(self, factor: float) -> Stats:
        """The same figures multiplied by `factor` (for unit changes)."""
        return Stats(
            n=self.n,
            mean=self.mean * factor,
            median=self.median * factor,
            min=self.min * factor,
            max=self.max * factor,
            p95=self.p95 * factor,
            stdev=self.stdev * factor,
        )

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value == 0:
            return "0"
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def parse_args(
    description: str, extra: Mapping[str, tuple[type, Any, str]] | None = None
) -> argparse.Namespace:
    """`--json` plus any integer/float options given as {name: (type, default, help)}."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    for name, (kind, default, help_text) in (extra or {}).items():
        parser.add_argument(f"--{name}", type=kind, default=default, help=help_text)
    return parser.parse_args()


def machine_info() -> dict[str, Any]:
    """Where the figures were measured."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def print_header(title: str) -> None:
    info = machine_info()
    print(title)
    print(
        f"python {info['python']} on {info['platform']}, {info['cpus']} cpus, {info['executable']}"
    )
    print()


def emit_json(data: Mapping[str, Any]) -> None:
    print(json.dumps({"machine": machine_info(), **data}, indent=2, default=str))


def progress(message: str) -> None:
    """A progress line on standard error (standard output stays clean for --json)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@contextmanager
def isolated_home() -> Iterator[Path]:
    """Point DEPLOYER_HOME at a fresh temporary directory for the duration (removed after)."""
    saved = {key: os.environ.get(key) for key in ("DEPLOYER_HOME", *_DEPLOYER_VARS)}
    home = Path(tempfile.mkdtemp(prefix="deployer-bench-home-"))
    os.environ["DEPLOYER_HOME"] = str(home)
    for key in _DEPLOYER_VARS:
        os.environ.pop(key, None)
    try:
        yield home
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(home, ignore_errors=True)


def child_env(**extra: str) -> dict[str, str]:
    """The current environment (with DEPLOYER_HOME already isolated) plus `extra`."""
    env = dict(os.environ)
    for key in _DEPLOYER_VARS:
        env.pop(key, None)
    env.update(extra)
    return env


def deployer_command() -> list[str]:
    """The installed `deployer` console script of this interpreter's environment."""
    bindir = Path(sys.executable).parent
    for candidate in (bindir / "deployer", bindir / "deployer.exe"):
        if candidate.is_file():
            return [str(candidate)]
    found = shutil.which("deployer")
    if found:
        return [found]
    raise SystemExit(
        "the `deployer` command is not installed next to this Python; "
        "install deployer-core (pip install -e packages/deployer-core) or use `hatch run bench`"
    )


def time_command(
    cmd: Sequence[str], env: Mapping[str, str], runs: int, warmup: int = 1
) -> tuple[Stats, subprocess.CompletedProcess[str]]:
    """Wall time (seconds) of `cmd` over `runs` runs after `warmup` untimed runs.

    Fails loudly if the command does not exit 0: a benchmark of an error is meaningless.
    """
    samples: list[float] = []
    last: subprocess.CompletedProcess[str] | None = None
    for i in range(warmup + runs):
        start = time.perf_counter()
        last = subprocess.run(list(cmd), env=dict(env), capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if last.returncode != 0:
            raise SystemExit(
                f"{' '.join(cmd)} exited with {last.returncode}:\n{last.stderr.strip()}"
            )
        if i >= warmup:
            samples.append(elapsed)
    assert last is not None
    return Stats.of(samples), last


def time_block(call: Callable[[], Any], count: int, into: list[float]) -> None:
    """Append the duration of each of `count` calls, in microseconds, to `into`."""
    clock = time.perf_counter_ns
    for _ in range(count):
        start = clock()
        call()
        into.append((clock() - start) / 1000)


def interleaved(
    calls: int, contenders: Mapping[str, Callable[[], Any]], warmup: int, block: int = 100
) -> dict[str, list[float]]:
    """Per-call microseconds of every contender over `calls` calls (after `warmup` untimed
    calls each), interleaved in blocks of `block` calls so drift on the machine hits all alike."""
    samples: dict[str, list[float]] = {label: [] for label in contenders}
    for call in contenders.values():
        for _ in range(warmup):
            call()
    gc.collect()
    done = 0
    while done < calls:
        size = min(block, calls - done)
        for label, call in contenders.items():
            time_block(call, size, samples[label])
        done += size
    return samples
