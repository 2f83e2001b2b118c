"""How fast the `deployer` command answers, what it imports, and where import time goes.

Measures, in fresh subprocesses with DEPLOYER_HOME pointing at a temporary directory:
- wall time of `deployer --help` and `deployer strategies` (plus the bare interpreter start
  and `import deployer.cli.main` for reference): median/min/max over N runs after one warm-up;
- an import-time breakdown (`python -X importtime`): the top 15 modules by cumulative time
  for `import deployer.cli.main` and for a whole `deployer strategies` run;
- which heavy SDKs (docker, modal, bentoml, langgraph, langgraph_sdk, litellm, ray) and which
  mid-weight libraries (rich, pydantic, httpx, ...) each command imports, read from
  `sys.modules` at exit. The CLI must not import an SDK to answer either command;
- a local deploy of examples/slugify through the CLI, cold (a fresh home: its virtual
  environment is built) and warm (the environment reused), against issue 14's targets.

Run: `python benchmarks/bench_cli.py [--json] [--runs N]` from the repository root.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import (
    REPO_ROOT,
    Stats,
    child_env,
    deployer_command,
    emit_json,
    format_table,
    isolated_home,
    parse_args,
    print_header,
    progress,
    time_command,
)

HEAVY = ("docker", "modal", "bentoml", "langgraph", "langgraph_sdk", "litellm", "ray")
NOTABLE = (
    "rich",
    "pydantic",
    "httpx",
    "yaml",
    "pluggy",
    "click",
    "platformdirs",
    "importlib.metadata",
    "deployer.plugins.registry",
)
TOP = 15
IMPORTTIME_RUNS = 5
MARK = "@@bench-start"

# Runs the CLI's main() like the console script does, with sys.argv set, and writes the sorted
# module names to a file at exit. Imports nothing itself beyond what the interpreter has loaded
# at start-up, so the list is the CLI's own. The marker on stderr separates the interpreter's
# start-up imports from the command's in `-X importtime` output.
DRIVER = f"""\
import atexit, sys
_out = sys.argv[1]
def _dump():
    with open(_out, "w", encoding="utf-8") as f:
        f.write("\\n".join(sorted(sys.modules)))
atexit.register(_dump)
sys.argv = ["deployer", *sys.argv[2:]]
sys.stderr.write("{MARK}\\n"); sys.stderr.flush()
from deployer.cli.main import main
main()
"""

IMPORT_ONLY = (
    f"import sys; sys.stderr.write('{MARK}\\n'); sys.stderr.flush(); import deployer.cli.main"
)


@dataclass
class ImportEntry:
    """One line of `-X importtime` output (times in microseconds)."""

    module: str
    self_us: int
    cumulative_us: int
    depth: int


def parse_importtime(stderr: str) -> list[ImportEntry]:
    """Entries printed after the marker, i.e. imports caused by the measured code only."""
    lines = stderr.splitlines()
    start = lines.index(MARK) + 1 if MARK in lines else 0
    entries: list[ImportEntry] = []
    for line in lines[start:]:
        if not line.startswith("import time:") or "imported package" in line:
            continue
        fields = line[len("import time:") :].split("|")
        if len(fields) != 3:
            continue
        name_field = fields[2].rstrip()
        stripped = name_field.lstrip()
        depth = (len(name_field) - len(stripped) - 1) // 2
        entries.append(
            ImportEntry(stripped, int(fields[0].strip()), int(fields[1].strip()), max(depth, 0))
        )
    return entries


def importtime_breakdown(
    argv: Sequence[str], env: Mapping[str, str], runs: int = IMPORTTIME_RUNS
) -> dict[str, Any]:
    """Median per-module import times over `runs` runs of `python -X importtime argv...`."""
    cumulative: dict[str, list[int]] = defaultdict(list)
    self_time: dict[str, list[int]] = defaultdict(list)
    totals: list[int] = []
    counts: list[int] = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", *argv],
            env=dict(env),
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise SystemExit(f"importtime run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        entries = parse_importtime(proc.stderr)
        totals.append(sum(e.self_us for e in entries))
        counts.append(len(entries))
        for entry in entries:
            cumulative[entry.module].append(entry.cumulative_us)
            self_time[entry.module].append(entry.self_us)
    top = sorted(
        (
            {
                "module": module,
                "cumulative_ms": statistics.median(values) / 1000,
                "self_ms": statistics.median(self_time[module]) / 1000,
            }
            for module, values in cumulative.items()
        ),
        key=lambda row: row["cumulative_ms"],
        reverse=True,
    )[:TOP]
    return {
        "runs": runs,
        "total_ms": statistics.median(totals) / 1000,
        "modules_imported": int(statistics.median(counts)),
        "top": top,
    }


def imported_modules(cli_args: Sequence[str], env: Mapping[str, str]) -> tuple[set[str], str]:
    """sys.modules at exit of `deployer <cli_args>` and its `-X importtime` stderr."""
    with tempfile.TemporaryDirectory(prefix="deployer-bench-mods-") as tmp:
        out = Path(tmp) / "modules.txt"
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", DRIVER, str(out), *cli_args],
            env=dict(env),
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0 or not out.is_file():
            raise SystemExit(
                f"deployer {' '.join(cli_args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}"
            )
        return set(out.read_text(encoding="utf-8").split()), proc.stderr


def has_module(modules: set[str], name: str) -> bool:
    return name in modules or any(m.startswith(name + ".") for m in modules)


def is_installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def time_deploys(deployer: list[str], env: Mapping[str, str], runs: int) -> dict[str, Stats]:
    """`deployer deploy examples/slugify --strategy local`, each removed after (untimed):
    cold, a fresh DEPLOYER_HOME per run (its virtual environment is built; uv's own package
    cache is warm after the warm-up), and warm, one home (the environment is reused)."""
    source = str(REPO_ROOT / "examples" / "slugify")

    def deploy(home: str, name: str) -> float:
        run_env = {**env, "DEPLOYER_HOME": home}
        start = time.perf_counter()
        done = subprocess.run(
            [*deployer, "deploy", source, "--strategy", "local", "--name", name],
            env=run_env, capture_output=True, text=True,
        )  # fmt: skip
        elapsed = time.perf_counter() - start
        subprocess.run([*deployer, "rm", name, "--force"], env=run_env, capture_output=True)
        if done.returncode != 0:
            raise SystemExit(f"deploy of examples/slugify failed:\n{done.stderr.strip()}")
        return elapsed

    with tempfile.TemporaryDirectory(prefix="deployer-bench-deploy-") as root:
        deploy(f"{root}/warm", "bench-warmup")  # fills uv's cache and the warm home's venv
        cold = [deploy(f"{root}/cold{i}", "bench-cold") for i in range(runs)]
        warm = [deploy(f"{root}/warm", "bench-warm") for _ in range(runs)]
    return {
        "deployer deploy examples/slugify (local), cold": Stats.of(cold).scaled(1000),
        "deployer deploy examples/slugify (local), warm": Stats.of(warm).scaled(1000),
    }


def main() -> int:
    args = parse_args(
        "Wall time, import time and imported modules of the deployer CLI.",
        {"runs": (int, 10, "timed runs per command (default 10)")},
    )
    with isolated_home():
        env = child_env()
        deployer = deployer_command()
        commands: list[tuple[str, list[str]]] = [
            ("python -c pass (interpreter start)", [sys.executable, "-c", "pass"]),
            (
                'python -c "import deployer.cli.main"',
                [sys.executable, "-c", "import deployer.cli.main"],
            ),
            ("deployer --help", [*deployer, "--help"]),
            ("deployer strategies", [*deployer, "strategies"]),
        ]
        progress("deploying examples/hello (local, process mode) for `deployer run`")
        subprocess.run([*deployer, "deploy", str(REPO_ROOT / "examples" / "hello"),
                        "--strategy", "local", "--name", "bench-run"],
                       env=env, check=True, capture_output=True)  # fmt: skip
        reach = json.loads(subprocess.run(
            [*deployer, "endpoint", "bench-run", "--json", "--show-token"],
            env=env, check=True, capture_output=True, text=True).stdout)  # fmt: skip
        one_shot = (
            "import httpx; httpx.post("
            f"{reach['url'] + '/run'!r}, json={{'name': 'Ada'}}, "
            f"headers={reach['headers']!r}, trust_env=False).json()"
        )
        commands += [
            ("deployer run NAME JSON", [*deployer, "run", "bench-run", '{"name": "Ada"}']),
            ("python -c 'httpx.post(...)' (one-shot)", [sys.executable, "-c", one_shot]),
        ]
        wall: dict[str, Stats] = {}
        for label, cmd in commands:
            progress(f"timing {label} x{args.runs}")
            stats, _ = time_command(cmd, env, args.runs)
            wall[label] = stats.scaled(1000)

        progress(f"timing local deploys of examples/slugify, cold and warm x{args.runs}")
        wall.update(time_deploys(deployer, env, args.runs))

        progress("import-time breakdowns")
        strategies_argv = ["-c", DRIVER, os.devnull, "strategies"]
        breakdowns = {
            "import deployer.cli.main": importtime_breakdown(["-c", IMPORT_ONLY], env),
            "deployer strategies": importtime_breakdown(strategies_argv, env),
        }

        progress("modules imported by each command")
        per_command: dict[str, set[str]] = {}
        for label, cli_args in (("--help", ["--help"]), ("strategies", ["strategies"])):
            per_command[label], _ = imported_modules(cli_args, env)
        modules = [
            {
                "module": name,
                "heavy": name in HEAVY,
                "installed": is_installed(name),
                **{label: has_module(mods, name) for label, mods in per_command.items()},
            }
            for name in (*HEAVY, *NOTABLE)
        ]
        heavy_hits = [
            f"{row['module']} ({label})"
            for row in modules
            if row["heavy"]
            for label in per_command
            if row[label]
        ]
        module_counts = {label: len(mods) for label, mods in per_command.items()}
        subprocess.run([*deployer, "rm", "bench-run"], env=env, capture_output=True)

    if args.json:
        emit_json(
            {
                "benchmark": "cli",
                "wall_ms": {label: stats.as_dict() for label, stats in wall.items()},
                "import_time": breakdowns,
                "modules": modules,
                "module_counts": module_counts,
                "heavy_imported": heavy_hits,
            }
        )
        return 1 if heavy_hits else 0

    print_header("deployer CLI: wall time, import time, imported modules")
    print(f"Wall time per command (ms; {args.runs} runs each after 1 warm-up, fresh process each)")
    print(
        format_table(
            ["command", "median", "min", "max"],
            [[label, s.median, s.min, s.max] for label, s in wall.items()],
        )
    )
    base = wall["python -c pass (interpreter start)"].median
    run_ratio = (
        wall["deployer run NAME JSON"].median
        / wall["python -c 'httpx.post(...)' (one-shot)"].median
    )
    print(f"  deployer run / one-shot httpx POST: {run_ratio:.2f}x (target <= 1.2x)")
    for kind, target in (("cold", 1000), ("warm", 400)):
        took = wall[f"deployer deploy examples/slugify (local), {kind}"].median
        print(f"  {kind} local deploy: {took:.0f} ms (target <= {target} ms)")
    for label in ("deployer --help", "deployer strategies"):
        print(f"  {label}: {wall[label].median - base:.1f} ms above the bare interpreter start")
    for label, data in breakdowns.items():
        print()
        print(
            f"Import time of `{label}` (python -X importtime, median of {data['runs']} runs): "
            f"{data['total_ms']:.1f} ms over {data['modules_imported']} modules; "
            f"top {TOP} by cumulative time"
        )
        print(
            format_table(
                ["module", "cumulative ms", "self ms"],
                [[row["module"], row["cumulative_ms"], row["self_ms"]] for row in data["top"]],
            )
        )
    print()
    print(
        "Modules imported (sys.modules at exit; "
        f"{module_counts['--help']} modules for --help, "
        f"{module_counts['strategies']} for strategies)"
    )
    yes_no = {True: "yes", False: "no"}
    print(
        format_table(
            ["module", "kind", "installed here", "deployer --help", "deployer strategies"],
            [
                [
                    row["module"],
                    "heavy SDK" if row["heavy"] else "library",
                    yes_no[row["installed"]],
                    yes_no[row["--help"]],
                    yes_no[row["strategies"]],
                ]
                for row in modules
            ],
        )
    )
    not_installed = [row["module"] for row in modules if row["heavy"] and not row["installed"]]
    print()
    if heavy_hits:
        print(f"FAIL: heavy SDKs imported: {', '.join(heavy_hits)}")
        return 1
    print("OK: no heavy SDK imported by --help or strategies.")
    if not_installed:
        missing = ", ".join(not_installed)
        print(f"  note: not installed here, so this check cannot catch them: {missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
