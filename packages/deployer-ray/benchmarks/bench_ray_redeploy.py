"""Redeploy under a steady stream of calls on Ray Serve: deployer's versions (each version its
own Serve application, the name switched once the new one is RUNNING) side by side with
Serve's own in-place upgrade (`serve.run` of new code under the same application name), and
what each does when the new code fails in its replicas' constructor.

Counts failed calls, calls made, the longest call while the new version took over and the
time until the new code answered. Run:
    python packages/deployer-ray/benchmarks/bench_ray_redeploy.py
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

SERVE_APP = """
from ray import serve


@serve.deployment(num_replicas=1, ray_actor_options={{"num_cpus": 0.25}})
class Reply:
    def __init__(self):
        {init}

    def __call__(self, request) -> str:
        return "{reply}"


app = Reply.bind()
"""


def write(root: Path, reply: str, init: str = "pass") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.py").write_text(SERVE_APP.format(reply=reply, init=init), encoding="utf-8")
    return root


class Stream:
    """Calls `call()` back to back in a thread; records (answer or error, seconds)."""

    def __init__(self, call: Callable[[], str]) -> None:
        self.call = call
        self.results: list[tuple[str, float]] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop)

    def loop(self) -> None:
        while not self.done.is_set():
            start = time.perf_counter()
            try:
                answer = self.call()
            except Exception as exc:
                answer = f"error: {type(exc).__name__}"
            self.results.append((answer, time.perf_counter() - start))

    def __enter__(self) -> Stream:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(60)


def report(label: str, stream: Stream, new: str, took: float) -> None:
    answers = [a for a, _ in stream.results]
    failed = [a for a in answers if a.startswith("error")]
    longest = max((s for _, s in stream.results), default=0.0)
    first_new = answers.index(new) if new in answers else None
    print(
        f"| {label} | {len(answers)} | {len(failed)} | {longest * 1000:.0f} | {took:.1f} | "
        f"{'yes' if first_new is not None else 'no'} |"
    )


def in_place(address: str, work: Path, port: int) -> None:
    """Serve's own upgrade: the same application name, new code."""
    from ray import serve

    from deployer_ray import sdk

    sdk.connect(address, {"working_dir": str(write(work / "inplace", "v1"))})
    sdk.start_serve(port)
    import importlib.util

    from ray import cloudpickle

    def load(reply: str, init: str = "pass") -> Any:
        folder = write(work / f"inplace-{reply}", reply, init)
        spec = importlib.util.spec_from_file_location(f"inplace_{reply}", folder / "main.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        cloudpickle.register_pickle_by_value(module)  # the replicas get the code by value
        return module.app

    serve.run(load("v1"), name="inplace", route_prefix="/inplace")
    client = httpx.Client(trust_env=False, timeout=30)

    def call() -> str:
        response = client.post(f"http://127.0.0.1:{port}/inplace", json={})
        return response.text if response.is_success else f"error: HTTP {response.status_code}"

    with Stream(call) as stream:
        time.sleep(1)
        began = time.perf_counter()
        serve.run(load("v2"), name="inplace", route_prefix="/inplace")
        took = time.perf_counter() - began
        time.sleep(1)
    report("Serve in-place upgrade", stream, "v2", took)
    with Stream(call) as stream:
        time.sleep(1)
        began = time.perf_counter()
        with contextlib.suppress(Exception):
            serve.run(
                load("v3", "raise RuntimeError('broken')"), name="inplace", route_prefix="/inplace"
            )
        took = time.perf_counter() - began
        time.sleep(1)
    report("Serve in-place upgrade, new code fails", stream, "v3", took)
    serve.delete("inplace")
    sdk.disconnect()


def versions(address: str, work: Path, port: int) -> None:
    """deployer's versions: each version its own application, switched once RUNNING."""
    import deployer
    from deployer.deployment.factory import DeploymentFactory
    from deployer.errors import DeployFailedError

    os.environ["RAY_ADDRESS"] = address
    source = write(work / "versions", "v1")
    deployer.deploy(source, "ray", name="bench", http_port=port)

    def call() -> str:
        result = deployer.attach("bench").run({})
        return str(result["output"]) if result["status"] == "success" else "error: envelope"

    try:
        with Stream(call) as stream:
            time.sleep(1)
            write(source, "v2")
            began = time.perf_counter()
            deployer.deploy(source, "ray", name="bench", http_port=port)
            took = time.perf_counter() - began
            time.sleep(1)
        report("deployer versions", stream, "v2", took)
        with Stream(call) as stream:
            time.sleep(1)
            write(source, "v3", "raise RuntimeError('broken')")
            began = time.perf_counter()
            with contextlib.suppress(DeployFailedError):
                deployer.deploy(source, "ray", name="bench", http_port=port)
            took = time.perf_counter() - began
            time.sleep(1)
        report("deployer versions, new code fails", stream, "v3", took)
    finally:
        DeploymentFactory().remove("bench", force=True)


def main() -> None:
    from deployer.plugin import free_port
    from deployer_ray import cluster, sdk

    with tempfile.TemporaryDirectory(prefix="dr-bench-") as tmp:
        root = Path(tmp)
        os.environ["DEPLOYER_HOME"] = str(root / "home")
        head = cluster.start_head(root / "head", num_cpus=2)
        try:
            print("| setup | calls | failed | longest call ms | redeploy s | new code answered |")
            print("|---|---|---|---|---|---|")
            port = free_port()
            in_place(head.address, root, port)
            versions(head.address, root, port)
        finally:
            sdk.disconnect()
            cluster.stop_node(head.pid)


if __name__ == "__main__":
    main()
