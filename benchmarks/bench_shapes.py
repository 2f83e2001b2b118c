"""Static entry-point resolution per published shape: `repo.shapes.resolve` (every kind,
manifests, the whole walk) next to the old `repo.entrypoints.resolve_entrypoint` (a top-level
def in four file names), and the requirement reader (`repo.requirements`, packaging) next to
the old regex reader in `repo.digest` for a 200-line requirements file.

Median of N runs in this process (warm imports, cold file reads are not separated). The old
resolver fails ("no entry point") on most shapes; its time is shown all the same.

Run: `python benchmarks/bench_shapes.py [--runs N]` from the repository root.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from deployer.errors import DeployerError
from deployer.repo.entrypoints import resolve_entrypoint
from deployer.repo.requirements import read_requirements
from deployer.repo.shapes import resolve

PUBLISHED = Path(__file__).resolve().parents[1] / "examples" / "published"
OLD_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def timed(function, runs: int) -> tuple[float, str]:
    samples, outcome = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        try:
            outcome = str(function())
        except DeployerError as exc:
            outcome = f"error: {exc.message[:40]}"
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000, outcome


def old_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        match = OLD_NAME.match(line)
        if line and not line.startswith("-") and match:
            names.add(re.sub(r"[-_.]+", "-", match.group(1)).lower())
    return names


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print(f"{'shape':<18} {'shapes ms':>10} {'old ms':>8} {'ratio':>6}  resolved (new) / old")
    for root in sorted(p for p in PUBLISHED.iterdir() if p.is_dir()):
        new_ms, new = timed(lambda r=root: resolve(r, display=r.name).entrypoint, args.runs)
        old_ms, old = timed(lambda r=root: resolve_entrypoint(r), args.runs)
        print(
            f"{root.name:<18} {new_ms:>10.2f} {old_ms:>8.2f} {new_ms / old_ms:>6.1f}  {new} / {old}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "requirements.txt"
        lines = [f"package_{i}[extra]>=1.{i} ; python_version >= '3.8'  # c" for i in range(200)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        new_ms, _ = timed(lambda: read_requirements(Path(tmp)).names, args.runs)
        old_ms, _ = timed(lambda: old_names(path), args.runs)
        print(f"requirements x200: packaging {new_ms:.2f} ms, regex {old_ms:.2f} ms "
              f"(ratio {new_ms / old_ms:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
