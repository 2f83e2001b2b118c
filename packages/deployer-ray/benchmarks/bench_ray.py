"""Ray Serve (1 and 2 replicas on a two-node cluster on this machine) vs the local strategy.

A trivial function, called through each deployment's `run` (deployer's HTTP client) from N
threads; prints req/s, p50 and p99 per setup and the ratio to local. Run:
    python packages/deployer-ray/benchmarks/bench_ray.py [--requests 400]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from deployer.deployment.factory import DeploymentFactory
from deployer.models import DeployConfig, SolutionResult
from deployer.plugins.registry import StrategyRegistry
from deployer_ray import cluster, sdk

SOLUTION = "def predict(text: str) -> str:\n    return text.upper()\n"


def measure(software: Any, concurrency: int, requests: int) -> dict[str, float]:
    errors: list[str] = []

    def one(i: int) -> float:
        start = time.perf_counter()
        result = software.run({"text": f"t{i}"})
        if result.get("output") != f"T{i}":
            errors.append(str(result.get("error", result))[:120])
        return time.perf_counter() - start

    for i in range(20):  # warm up the keep-alive connections and replicas
        one(i)
    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = sorted(pool.map(one, range(requests)))
    elapsed = time.perf_counter() - began
    if errors:
        print(f"  {len(errors)} failed calls at concurrency {concurrency}, e.g. {errors[0]}")
    return {
        "errors": len(errors),
        "rps": requests / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    os.environ["DEPLOYER_HOME"] = str(root / "home")
    solution = root / "solution"
    solution.mkdir()
    (solution / "main.py").write_text(SOLUTION, encoding="utf-8")
    registry = StrategyRegistry(enabled=["local", "ray"])
    factory = DeploymentFactory(registry)
    t0 = time.perf_counter()
    head = cluster.start_head(root / "head", num_cpus=1)
    t1 = time.perf_counter()
    worker = cluster.start_worker(head.address, root / "worker", num_cpus=1)
    t2 = time.perf_counter()
    print(f"cluster: head up in {t1 - t0:.1f}s, worker joined in {t2 - t1:.1f}s")
    setups = {
        "local (process)": ("local", {"mode": "process"}),
        "ray 1 replica": ("ray", {"address": head.address, "num_replicas": 1, "num_cpus": 1}),
        "ray 2 replicas": ("ray", {"address": head.address, "num_replicas": 2, "num_cpus": 1}),
    }
    results: dict[tuple[str, int], dict[str, float]] = {}
    try:
        for label, (strategy, options) in setups.items():
            software = factory.create(
                DeployConfig(
                    solution=SolutionResult(code_path=solution),
                    strategy=strategy,
                    options=options,
                    entrypoint="main:predict",
                    name=label.split()[0] + str(len(results)),
                )
            )
            try:
                for concurrency in (8, 32):
                    results[(label, concurrency)] = measure(software, concurrency, args.requests)
            finally:
                software.remove()
    finally:
        sdk.disconnect()
        cluster.stop_node(worker.pid)
        cluster.stop_node(head.pid)
    print(
        f"{'setup':<18}{'conc':>5}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'errors':>7}{'vs local':>9}"
    )
    for (label, concurrency), r in results.items():
        ratio = r["rps"] / results[("local (process)", concurrency)]["rps"]
        print(
            f"{label:<18}{concurrency:>5}{r['rps']:>9.0f}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['errors']:>7.0f}"
            f"{ratio:>9.2f}x"
        )


if __name__ == "__main__":
    main()
