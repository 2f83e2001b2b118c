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
4. Redeploy downtime: a steady stream of calls (one every 20 ms, one held handle) while a new
   version of the same name is deployed; side by side, versions (k+1 served beside k,
   switched once ready; one held handle) and the way it was done before versions (`rm`,
   then `deploy`; `attach(name)` for every call, since the old handle's deployment is gone).
   Printed: calls made, calls failed (the target is 0), the longest time without a successful
   answer, and the redeploy's wall time.

Per-call mean/median/p95 in milliseconds. DEPLOYER_HOME and BENTOML_HOME are temporary.
Run: `python packages/deployer-bentoml/benchmarks/bench_bentoml.py [--calls N] [--deploys N]
[--rounds N] [--only deploy|overhead|overlap|redeploy]`.
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


def _steady(handle: Any, interval: float, ok: list[float], failed: list[float], done: Any) -> None:
    """One call every `interval` seconds until `done`; the time each answered, by outcome.
    `handle` is a held DeployedSoftware, or a name to attach to afresh for every call."""
    import deployer

    while not done.is_set():
        started = time.perf_counter()
        try:
            target = deployer.attach(handle) if isinstance(handle, str) else handle
            result = target.run({"name": "x"})
        except Exception as exc:  # the name does not exist between rm and deploy
            result = {"status": "error", "error": repr(exc)}
        now = time.perf_counter()
        (ok if result.get("status") == "success" else failed).append(now)
        time.sleep(max(0.0, interval - (now - started)))


def redeploy_downtime(rounds: int, interval: float = 0.02) -> None:
    import itertools
    import threading

    import deployer
    from deployer.deployment.factory import DeploymentFactory
    from deployer.testing import write_solution

    print(f"== redeploy under a steady stream of calls (every {interval * 1000:.0f} ms) ==")
    root = Path(tempfile.mkdtemp(prefix="bench-redeploy-"))
    for kind in ("versions (k+1 beside k)", "rm, then deploy (before)"):
        for index in range(rounds):
            name = f"bench-redeploy-{len(kind)}-{index}"
            write_solution(root, {"main.py": "def predict(name):\n    return 'old'\n"})
            held = deployer.deploy(root, strategy="bentoml", name=name)
            write_solution(root, {"main.py": "def predict(name):\n    return 'new'\n"})
            ok: list[float] = []
            failed: list[float] = []
            done = threading.Event()
            caller = threading.Thread(
                target=_steady,
                args=(name if kind.startswith("rm") else held, interval, ok, failed, done),
                daemon=True,
            )
            caller.start()
            time.sleep(0.5)
            started = time.perf_counter()
            if kind.startswith("rm"):
                DeploymentFactory().remove(name)
            deployer.deploy(root, strategy="bentoml", name=name)
            took = time.perf_counter() - started
            time.sleep(0.5)
            done.set()
            caller.join(30)
            gap = max((b - a for a, b in itertools.pairwise(sorted(ok))), default=0.0)
            DeploymentFactory().remove(name, force=True)
            print(
                f"  {kind:<26} calls {len(ok) + len(failed):5d}  failed {len(failed):4d}  "
                f"longest gap {gap * 1000:8.1f} ms  redeploy {took:5.2f} s"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--deploys", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="redeploys per way")
    parser.add_argument(
        "--only", choices=["deploy", "overhead", "overlap", "redeploy"], default=None
    )
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-bentoml-"))
    os.environ["DEPLOYER_HOME"] = str(home / "deployer")
    os.environ["BENTOML_HOME"] = str(home / "bentoml")
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")
    import bentoml

    print(f"python {sys.version.split()[0]}, bentoml {bentoml.__version__}, {os.cpu_count()} cpus")
    try:
        parts: dict[str, Callable[[], None]] = {
            "deploy": lambda: deploy_to_ready(args.deploys),
            "overhead": lambda: run_overhead(args.calls),
            "overlap": lambda: overlap(min(args.calls, 200)),
            "redeploy": lambda: redeploy_downtime(args.rounds),
        }
        for part, run in parts.items():
            if args.only in (None, part):
                run()
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
