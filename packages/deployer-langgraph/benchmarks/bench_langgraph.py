"""Benchmark of the langgraph strategy's dev target: time from deploy to ready, and per-call
latency of `DeployedSoftware.run()` against a bare `langgraph_sdk` `runs.wait` on the same
server, with where the time goes (the server's own queue wait and execution time per run,
read from its log).

    python packages/deployer-langgraph/benchmarks/bench_langgraph.py [--calls 200] [--deploys 3]

Runs offline in a temporary DEPLOYER_HOME; every server it starts is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
AGENT = REPO / "examples" / "langgraph_agent"
FUNCTION = REPO / "examples" / "hello"
QUESTION = {"question": "what is 6 * 7?"}
_RUN_LINE = re.compile(r"Background run succeeded.*?run_exec_ms=(\d+).*?run_wait_time_ms=(\d+)")


def summary(label: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return (
        f"{label:<44} n={len(ms):<4} mean {statistics.fmean(ms):7.1f} ms   "
        f"median {statistics.median(ms):7.1f}   p95 {p95:7.1f}   min {ms[0]:7.1f}   "
        f"max {ms[-1]:7.1f}"
    )


def raw_langgraph_dev_ready(adapted: Path, log: Path) -> float:
    """`langgraph dev` alone on an adapted copy: Popen to the first 200 from /ok."""
    from deployer.plugin import free_port, spawn, terminate
    from deployer_langgraph.targets.dev import command, wait_ready

    port = free_port()
    env = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LOG_COLOR": "false"}
    start = time.perf_counter()
    proc = spawn(
        command(sys.executable, port, allow_blocking=False), cwd=adapted, env=env, log_path=log
    )
    try:
        import httpx

        def probe() -> bool:
            url = f"http://127.0.0.1:{port}/ok"
            return httpx.get(url, timeout=2.0, trust_env=False).status_code == 200

        wait_ready(proc, name="raw", probe=probe, log_path=log, log_offset=0, timeout=300)
        return time.perf_counter() - start
    finally:
        terminate(proc.pid, proc.pid, None, proc)


def server_run_times(log: Path, offset: int) -> tuple[list[float], list[float]]:
    """(queue wait, execution) in seconds of every successful run logged after `offset`."""
    with log.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode("utf-8", errors="replace")
    pairs = [(int(w) / 1000, int(e) / 1000) for e, w in _RUN_LINE.findall(text)]
    return [w for w, _ in pairs], [e for _, e in pairs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--deploys", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-langgraph-"))
    os.environ["DEPLOYER_HOME"] = str(home)

    from langgraph_sdk import get_sync_client

    import deployer

    print(f"deployer-langgraph benchmark  (python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    print("\n-- deploy to ready (dev target: adapt, overlay env, langgraph dev, /ok, graph check)")
    made = []
    try:
        deploy_times, start_times, stop_times = [], [], []
        for index in range(args.deploys):
            began = time.perf_counter()
            software = deployer.deploy(AGENT, strategy="langgraph", name=f"bench-{index}")
            deploy_times.append(time.perf_counter() - began)
            made.append(software)
            if index == 0:
                began = time.perf_counter()
                software.stop()
                stop_times.append(time.perf_counter() - began)
                began = time.perf_counter()
                software.start()
                start_times.append(time.perf_counter() - began)
            elif index < args.deploys - 1:
                software.remove()
        print(summary("deployer.deploy(examples/langgraph_agent)", deploy_times))
        print(summary("stop() (SIGTERM, dev server flushes threads)", stop_times))
        print(summary("start() after stop", start_times))
        adapted = made[0].info.adapted_path
        assert adapted is not None
        raw = [raw_langgraph_dev_ready(adapted, home / f"raw-{i}.log") for i in range(2)]
        print(summary("bare `langgraph dev` Popen -> /ok 200", raw))

        software = made[0]
        endpoint = software.endpoint
        log = software.runner.log_path
        client = get_sync_client(url=endpoint, api_key=None)
        for _ in range(5):  # warm both paths
            software.run(QUESTION)
            client.runs.wait(None, "agent", input=QUESTION)

        print(f"\n-- per call, {args.calls} calls each, interleaved, stateless, same server")
        offset = log.stat().st_size
        ours, bare = [], []
        for _ in range(args.calls):
            began = time.perf_counter()
            result = software.run(QUESTION)
            ours.append(time.perf_counter() - began)
            assert result["status"] == "success", result
            began = time.perf_counter()
            client.runs.wait(None, "agent", input=QUESTION)
            bare.append(time.perf_counter() - began)
        waits, execs = server_run_times(log, offset)
        print(summary("DeployedSoftware.run()", ours))
        print(summary("bare langgraph_sdk runs.wait", bare))
        diffs = [a - b for a, b in zip(ours, bare, strict=True)]
        print(summary("run() minus runs.wait (pairwise)", diffs))
        print(summary("server: queue wait (run_wait_time_ms)", waits))
        print(summary("server: execution (run_exec_ms)", execs))
        rest = statistics.fmean(ours + bare) - statistics.fmean(waits) - statistics.fmean(execs)
        print(f"{'rest: HTTP, run creation, serialisation':<44} mean {rest * 1000:7.1f} ms")

        print("\n-- per call on a thread (20 calls) and on a wrapped plain function (20 calls)")
        threaded = []
        for _ in range(20):
            began = time.perf_counter()
            software.run({**QUESTION, "thread": "bench"})
            threaded.append(time.perf_counter() - began)
        print(summary("run() with a thread", threaded))
        hello = deployer.deploy(FUNCTION, strategy="langgraph", name="bench-hello")
        made.append(hello)
        plain = []
        for _ in range(20):
            began = time.perf_counter()
            hello.run({"name": "Ada"})
            plain.append(time.perf_counter() - began)
        print(summary("run() on examples/hello (wrapped)", plain))
        client.http.client.close()
    finally:
        for software in made:
            try:
                software.remove()
            except Exception as exc:
                print(f"cleanup of {software.name} failed: {exc}", file=sys.stderr)
        subprocess.run(["rm", "-rf", str(home)], check=False)

    print(
        "\nThe queue wait is langgraph-runtime-inmem's scheduler: Runs.next() sleeps a fixed "
        "0.5 s between polls\n(asyncio.sleep(0.5) in langgraph_runtime_inmem/ops.py; no setting "
        "or environment variable) and only takes\nruns created before that poll began. A run "
        "created right after the previous one was picked up (back-to-back\ncalls) misses the "
        "poll in progress and waits for the end of the next one: ~1 s per call."
    )


if __name__ == "__main__":
    main()
