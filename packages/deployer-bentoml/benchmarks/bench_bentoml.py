"""deployer-bentoml figures: deploy-to-ready time, and run() overhead over a bare HTTP POST.

1. Deploy to ready: `deployer.deploy(..., strategy="bentoml")` of examples/hello (no
   dependencies: served by deployer's own interpreter), repeated; each is removed afterwards.
   The time covers adaptation, writing the settings, starting `bentoml serve` and waiting for
   the readiness check. examples/bentoml_iris (scikit-learn, a load step) is timed once with
   an empty environment cache (layered environment built) and once with it warm.
2. run() overhead: against one deployment of examples/hello, 1,000 calls (after a warm-up)
   of each of: `software.run(inputs)` (deployer -> bentoml.SyncHTTPClient), the same client's
   `call("run", inputs=...)` alone, and a bare keep-alive `httpx.Client.post(endpoint/run)`
   with `.json()`. The three run interleaved in blocks so machine drift hits all alike.
3. Overlap: a function that sleeps 50 ms, called by 8 threads at once through run(), served
   with `threads=1` (BentoML's own default: calls queue one behind another) and with the
   strategy's default `threads=64`; requests per second and p50, side by side (ratio).

Per-call mean/median/p95 in milliseconds. DEPLOYER_HOME and BENTOML_HOME are temporary.
Run: `python packages/deployer-bentoml/benchmarks/bench_bentoml.py [--calls N] [--deploys N]`.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
HELLO = REPO / "examples" / "hello"
IRIS = REPO / "examples" / "bentoml_iris"
INPUTS: dict[str, Any] = {"name": "Ada"}
BLOCK = 100
WARMUP = 50


def stats(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, -(-95 * len(ordered) // 100) - 1)]
    return (
        f"n={len(ordered):5d}  mean {statistics.fmean(ordered):8.3f}  "
        f"median {statistics.median(ordered):8.3f}  p95 {p95:8.3f}  "
        f"min {ordered[0]:8.3f}  max {ordered[-1]:8.3f}"
    )


def timed_deploy(path: Path, name: str, **options: Any) -> tuple[float, Any]:
    import deployer

    started = time.perf_counter()
    software = deployer.deploy(path, strategy="bentoml", name=name, **options)
    return time.perf_counter() - started, software


def deploy_to_ready(deploys: int) -> None:
    print("== deploy to ready (seconds) ==")
    times = []
    for i in range(deploys):
        seconds, software = timed_deploy(HELLO, f"bench-hello-{i}")
        try:
            assert software.run(INPUTS)["status"] == "success"
        finally:
            software.remove()
        times.append(seconds)
        print(f"  examples/hello #{i + 1}: {seconds:.2f}s", flush=True)
    print(f"  examples/hello             {stats(times)}")
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("  examples/bentoml_iris: skipped (scikit-learn is not installed)")
        return
    for label in ("cold environment cache", "warm environment cache"):
        seconds, software = timed_deploy(IRIS, f"bench-iris-{label.split()[0]}")
        try:
            assert software.run({"measurements": [[5.1, 3.5, 1.4, 0.2]]})["status"] == "success"
        finally:
            software.remove()
        print(f"  examples/bentoml_iris ({label}): {seconds:.2f}s", flush=True)


def measure(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000.0


def run_overhead(calls: int) -> None:
    import httpx

    from deployer_bentoml.sdk import connect

    print(f"== run() overhead over {calls} calls (milliseconds per call) ==")
    _, software = timed_deploy(HELLO, "bench-overhead")
    endpoint = software.endpoint
    client = connect(endpoint, timeout=30)
    http = httpx.Client(base_url=endpoint, trust_env=False, timeout=30)
    expected = software.run(INPUTS)["output"]
    sides: dict[str, Callable[[], Any]] = {
        "software.run()": lambda: software.run(INPUTS),
        "SyncHTTPClient.call()": lambda: client.call("run", inputs=INPUTS)["output"],
        "bare httpx POST": lambda: http.post("/run", json={"inputs": INPUTS}).json()["output"],
    }
    try:
        assert sides["bare httpx POST"]() == expected
        assert sides["SyncHTTPClient.call()"]() == expected
        for call in sides.values():
            for _ in range(WARMUP):
                call()
        results: dict[str, list[float]] = {label: [] for label in sides}
        gc.disable()
        try:
            for _ in range(max(1, calls // BLOCK)):
                for label, call in sides.items():
                    results[label].extend(measure(call) for _ in range(BLOCK))
        finally:
            gc.enable()
        for label, values in results.items():
            print(f"  {label:22s} {stats(values)}")
        bare = results["bare httpx POST"]
        for label in ("software.run()", "SyncHTTPClient.call()"):
            values = results[label]
            median = statistics.median(values) - statistics.median(bare)
            mean = statistics.fmean(values) - statistics.fmean(bare)
            print(
                f"  {label} minus bare POST: median {median:+.3f} ms, mean {mean:+.3f} ms, "
                f"min {min(values) - min(bare):+.3f} ms per call"
            )
    finally:
        http.close()
        client.close()
        software.remove()


SLOW = {
    "main.py": (
        "import time\n\n\ndef predict(x: int = 0) -> int:\n    time.sleep(0.05)\n    return x\n"
    )
}


def _caller(software: Any, latencies: list[float]) -> Callable[[int], None]:
    def one(i: int) -> None:
        latencies.append(measure(lambda: software.run({"x": i})))

    return one


def overlap(calls: int, concurrency: int = 8) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from deployer.testing import write_solution

    print(f"== a 50 ms function at concurrency {concurrency}, {calls} calls ==")
    source = write_solution(Path(tempfile.mkdtemp(prefix="bench-slow-")), SLOW)
    figures: dict[int, float] = {}
    for threads in (1, 64):
        _, software = timed_deploy(source, f"bench-slow-{threads}", threads=threads)
        try:
            software.run({"x": 1})
            latencies: list[float] = []
            one = _caller(software, latencies)
            started = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                list(pool.map(one, range(calls)))
            rate = calls / (time.perf_counter() - started)
        finally:
            software.remove()
        figures[threads] = rate
        print(
            f"  threads={threads:<3d} {rate:7.1f} req/s  p50 {statistics.median(latencies):7.1f} ms"
        )
    print(f"  threads=64 / threads=1: {figures[64] / figures[1]:.1f}x the throughput")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--deploys", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-bentoml-"))
    os.environ["DEPLOYER_HOME"] = str(home / "deployer")
    os.environ["BENTOML_HOME"] = str(home / "bentoml")
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")
    import bentoml

    print(f"python {sys.version.split()[0]}, bentoml {bentoml.__version__}, {os.cpu_count()} cpus")
    try:
        deploy_to_ready(args.deploys)
        run_overhead(args.calls)
        overlap(min(args.calls, 200))
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
