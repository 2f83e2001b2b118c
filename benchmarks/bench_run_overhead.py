"""What `software.run()` costs on top of calling the solution yourself.

Deploys examples/hello with the local strategy (DEPLOYER_HOME in a temporary directory) and
times 1,000 calls (after a warm-up) of each pair:
(a) mode=inprocess: `software.run({"name": "Ada"})` versus a direct call of `predict(name="Ada")`
    imported from examples/hello/main.py (and, to locate the cost, the runner's own `run`
    without the DeployedSoftware wrapper);
(b) mode=process: `software.run(...)` versus a bare `httpx.Client().post(endpoint + "/run")`
    (with `.json()`) against the same server.
The two sides of a pair run interleaved in blocks, so drift on the machine hits both alike.
Per-call mean/median/p95 in microseconds, their ratios and the absolute overhead. Deployments
are removed at the end, also on error.

Run: `python benchmarks/bench_run_overhead.py [--json] [--calls N]` from the repository root.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import (
    REPO_ROOT,
    Stats,
    emit_json,
    format_table,
    interleaved,
    isolated_home,
    parse_args,
    print_header,
    progress,
)

EXAMPLE = REPO_ROOT / "examples" / "hello"
INPUTS: dict[str, Any] = {"name": "Ada"}
WARMUP_INPROCESS = 200
WARMUP_HTTP = 20
BLOCK = 100


def load_direct(path: Path) -> Callable[..., Any]:
    """`predict` from the example's main.py, imported under a private name."""
    spec = importlib.util.spec_from_file_location("_bench_hello_main", path / "main.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path / 'main.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.predict


def compare(calls: int, contenders: dict[str, Callable[[], Any]], warmup: int) -> dict[str, Stats]:
    """Time every contender `calls` times (after `warmup` untimed calls each), interleaved in
    blocks of BLOCK calls."""
    samples = interleaved(calls, contenders, warmup, BLOCK)
    return {label: Stats.of(values) for label, values in samples.items()}


def expect_success(result: dict[str, Any], expected: Any, label: str) -> None:
    """Fail loudly unless `result` is the success envelope around `expected`."""
    if result != {"status": "success", "output": expected}:
        raise SystemExit(f"{label} returned {result!r}, expected output {expected!r}")


def bench_inprocess(calls: int, expected: Any, direct: Callable[..., Any]) -> dict[str, Any]:
    """(a) software.run in mode=inprocess versus the direct call."""
    import deployer

    started = time.perf_counter()
    software = deployer.deploy(EXAMPLE, strategy="local", mode="inprocess")
    deploy_s = time.perf_counter() - started
    try:
        expect_success(software.run(INPUTS), expected, "inprocess software.run")
        runner = software.runner
        stats = compare(
            calls,
            {
                "direct call predict(**inputs)": lambda: direct(**INPUTS),
                "software.run(inputs)": lambda: software.run(INPUTS),
                "software.runner.run(inputs)": lambda: runner.run(INPUTS),
            },
            WARMUP_INPROCESS,
        )
    finally:
        software.remove()
    return {"deploy_s": deploy_s, "baseline": "direct call predict(**inputs)", "stats": stats}


def bench_process(calls: int, expected: Any) -> dict[str, Any]:
    """(b) software.run in mode=process versus a bare httpx POST to the same server."""
    import httpx

    import deployer

    started = time.perf_counter()
    software = deployer.deploy(EXAMPLE, strategy="local", mode="process")
    deploy_s = time.perf_counter() - started
    try:
        endpoint = software.endpoint
        if not endpoint:
            raise SystemExit("the process-mode deployment reports no endpoint")
        url = f"{endpoint}/run"
        expect_success(software.run(INPUTS), expected, "process software.run")
        # the same bearer token software.run sends (deployer endpoint NAME --show-token)
        headers = software.connection().headers
        with httpx.Client(trust_env=False, headers=headers) as client:
            expect_success(client.post(url, json=INPUTS).json(), expected, f"POST {url}")
            stats = compare(
                calls,
                {
                    "bare httpx POST /run": lambda: client.post(url, json=INPUTS).json(),
                    "software.run(inputs)": lambda: software.run(INPUTS),
                },
                WARMUP_HTTP,
            )
    finally:
        software.remove()
    return {
        "deploy_s": deploy_s,
        "endpoint": endpoint,
        "baseline": "bare httpx POST /run",
        "stats": stats,
    }


def ratios(part: dict[str, Any]) -> dict[str, dict[str, float]]:
    """For each contender: ratio to the baseline (mean, median, p95) and overhead in us."""
    base: Stats = part["stats"][part["baseline"]]
    out: dict[str, dict[str, float]] = {}
    for label, stats in part["stats"].items():
        if label == part["baseline"]:
            continue
        out[label] = {
            "mean_ratio": stats.mean / base.mean,
            "median_ratio": stats.median / base.median,
            "p95_ratio": stats.p95 / base.p95,
            "median_overhead_us": stats.median - base.median,
            "mean_overhead_us": stats.mean - base.mean,
        }
    return out


def print_part(title: str, part: dict[str, Any], calls: int) -> None:
    print(f"{title} (deploy took {part['deploy_s']:.2f} s; {calls} calls each, microseconds)")
    base = part["baseline"]
    rel = ratios(part)
    rows = []
    for label, stats in part["stats"].items():
        r = rel.get(label)
        rows.append(
            [
                label,
                stats.mean,
                stats.median,
                stats.p95,
                stats.max,
                "1 (baseline)" if r is None else f"{r['median_ratio']:.2f}x",
                "-" if r is None else f"{r['mean_ratio']:.2f}x",
                "-" if r is None else r["median_overhead_us"],
            ]
        )
    print(
        format_table(
            ["call", "mean", "median", "p95", "max", "median ratio", "mean ratio", "+median"],
            rows,
        )
    )
    print(f"  ratios and +median are relative to: {base}")


def main() -> int:
    args = parse_args(
        "Overhead of software.run() over a direct call and over a bare HTTP POST.",
        {"calls": (int, 1000, "timed calls per contender (default 1000)")},
    )
    direct = load_direct(EXAMPLE)
    expected = direct(**INPUTS)
    with isolated_home():
        progress(f"inprocess: deploy, then {args.calls} calls per contender")
        inprocess = bench_inprocess(args.calls, expected, direct)
        progress(f"process: deploy (creates the solution's venv), then {args.calls} calls each")
        process = bench_process(args.calls, expected)

    if args.json:
        emit_json(
            {
                "benchmark": "run_overhead",
                "calls": args.calls,
                "inputs": INPUTS,
                "unit": "us",
                **{
                    key: {
                        "deploy_s": part["deploy_s"],
                        "baseline": part["baseline"],
                        "stats": {label: s.as_dict() for label, s in part["stats"].items()},
                        "ratios": ratios(part),
                    }
                    for key, part in (("inprocess", inprocess), ("process", process))
                },
            }
        )
        return 0

    print_header("deployer run() overhead: examples/hello with the local strategy")
    print_part("(a) mode=inprocess", inprocess, args.calls)
    print()
    print_part("(b) mode=process", process, args.calls)
    bare = process["stats"][process["baseline"]].median
    if bare > 30_000:
        print(
            f"  note: a bare POST takes {bare / 1000:.0f} ms on loopback: the ~40 ms signature of "
            "Nagle's algorithm meeting delayed ACKs (headers and body sent in two writes "
            "without TCP_NODELAY)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
