"""Cold virtual-environment builds, uv against pip, in one run (ratios: the machine is noisy).

For examples/slugify (one requirement) and a solution with 10 small pure-Python requirements:
- "venv + pip (before)": `python -m venv` (which installs pip into the environment) then that
  pip installs the requirements: what deployer did before;
- "venv --without-pip + pip --python": deployer's pip fallback today;
- "uv venv + uv pip": deployer's builder when uv is installed.
Each build goes into a fresh directory; the package caches of pip and uv are warm (they were
filled by a first, unmeasured round), as for a user who has installed these packages before.
Then a cold and a warm `deployer deploy examples/slugify --strategy local` (process mode).

    python benchmarks/bench_venvs.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEN = [
    "python-slugify", "six", "idna", "attrs", "toolz", "tabulate", "humanize", "pyjokes",
    "colorama", "text-unidecode",
]  # fmt: skip


def uv() -> str:
    from deployer.runtime.venvs import uv_binary

    found = uv_binary()
    if found is None:
        raise SystemExit('uv is not installed: pip install "deployer-core[uv]"')
    return found


def build(how: str, target: Path, requirements: list[str]) -> float:
    start = time.perf_counter()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
    python = str(target / "bin" / "python")
    if how == "pip-before":
        subprocess.run([sys.executable, "-m", "venv", str(target)], **quiet)
        subprocess.run([python, "-m", "pip", "install", "-q", *requirements], **quiet)
    elif how == "pip-now":
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], **quiet)
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", python, "install", "-q", *requirements],
            **quiet,
        )
    else:
        subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(target)], **quiet)
        subprocess.run([uv(), "pip", "install", "-q", "--python", python, *requirements], **quiet)
    return time.perf_counter() - start


def deploy_times() -> tuple[float, float]:
    """Cold (new DEPLOYER_HOME) and warm (cached environment) local deploys of slugify."""
    home = Path(tempfile.mkdtemp(prefix="bench-venvs-home-"))
    env = {**os.environ, "DEPLOYER_HOME": str(home), "DEPLOYER_STRATEGIES": "local"}
    deployer = [sys.executable, "-m", "deployer"]
    times = []
    try:
        for name in ("cold", "warm"):
            start = time.perf_counter()
            subprocess.run(
                [*deployer, "deploy", str(REPO / "examples" / "slugify"), "--strategy", "local",
                 "--name", name, "--json"],
                env=env, check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            times.append(time.perf_counter() - start)
            subprocess.run([*deployer, "rm", name], env=env, check=True, stdout=subprocess.DEVNULL)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cases = {"slugify (1 requirement)": ["python-slugify>=8,<9"], "10 requirements": TEN}
    ways = {
        "venv + pip (before)": "pip-before",
        "venv --without-pip + pip --python": "pip-now",
        "uv venv + uv pip": "uv",
    }
    with tempfile.TemporaryDirectory(prefix="bench-venvs-") as scratch:
        root = Path(scratch)
        for how in ways.values():  # warm the package caches, unmeasured
            build(how, root / f"warm-{how}", TEN + cases["slugify (1 requirement)"])
        print(f"cold environment builds, median of {args.rounds} (seconds)")
        print(f"{'solution':<26}" + "".join(f"{label:>36}" for label in ways))
        for case, requirements in cases.items():
            medians = []
            for how in ways.values():
                runs = [
                    build(how, root / f"{how}-{case[:4]}-{i}", requirements)
                    for i in range(args.rounds)
                ]
                medians.append(statistics.median(runs))
            cells = "".join(f"{m:>26.2f} ({m / medians[0]:.3f}x)" for m in medians)
            print(f"{case:<26}{cells}")
    cold, warm = deploy_times()
    print(
        f"\ndeployer deploy examples/slugify --strategy local: cold {cold:.2f} s, warm {warm:.2f} s"
    )
    print("(cold includes building the environment; warm reuses the cached one)")


if __name__ == "__main__":
    main()
