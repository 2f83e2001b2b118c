"""The docker strategy's deploy time and throughput: core's serving runtime in a container.

Deploys a trivial function with the docker strategy twice (the first build fills the engine's
layer cache; the second deploy is what a user waits for when only the code changed or a
deployment is made again), then measures req/s, p50 and p99 at concurrency 8 against the
container with the keep-alive raw-socket client of `bench_serving.py`. Side by side, the same
image also runs the server the runtime replaced (the old `deployer_server.py` template, taken
from git history and copied into a container of the same image), so the ratio is measured in
one run on one machine.

    python benchmarks/bench_docker.py [--seconds 3] [--json]

Needs a Docker engine (DOCKER_HOST, e.g. the one `packages/deployer-docker/ci/setup.sh`
starts) and a base image with python3 (`--base-image`, default deployer-base:bookworm).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import string
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_serving import free_port, load, one_request  # this directory is on sys.path

REPO_ROOT = Path(__file__).resolve().parent.parent
OLD_SERVER = "packages/deployer-docker/src/deployer_docker/templates/deployer_server.py.tmpl"
OLD_COMMIT = "a8fd36c"  # the last commit with the docker strategy's own server
SOLUTION = "def predict(text: str) -> str:\n    return text\n"


def log(message: str) -> None:
    sys.stderr.write(f"[bench_docker] {message}\n")
    sys.stderr.flush()


def old_server_source() -> str:
    text = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "show", f"{OLD_COMMIT}:{OLD_SERVER}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return string.Template(text).safe_substitute(
        deployer_entrypoint="main:predict", deployer_calling_convention="kwargs"
    )


def request(port: int, headers: dict[str, str]) -> bytes:
    body = b'{"text": "hello"}'
    lines = ["POST /run HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def deploy_twice(root: Path, base_image: str) -> tuple[Any, list[float]]:
    """Two deploys of the same solution; the seconds each took, and the runner of the last."""
    from deployer.plugins.registry import StrategyRegistry
    from deployer.testing.fixtures import Deployments

    registry = StrategyRegistry(enabled=["docker"])
    made = Deployments(registry, root, "docker")
    options = {"base_image": base_image}
    times = []
    runner = None
    for attempt in range(2):
        if runner is not None:
            runner.remove()
        context = made.context(
            {"main.py": SOLUTION}, name="bench-docker", options=options, startup_timeout=600
        )
        runner = made.runner(context)
        started = time.perf_counter()
        runner.deploy()
        times.append(time.perf_counter() - started)
        log(f"deploy {attempt + 1}: {times[-1]:.2f} s")
    assert runner is not None
    return runner, times


def headers_of(runner: Any) -> dict[str, str]:
    client = runner.http
    return dict(getattr(client, "headers", {}) or {})


def run_old_server(runner: Any, port: int) -> Any:
    """A container of the same image running the old server on the host network, `port`."""
    import docker

    client = docker.from_env()
    container = client.containers.create(
        runner.state["image_id"],
        command=["python", "/app/old_server.py"],
        environment={"DEPLOYER_PORT": str(port), "DEPLOYER_BIND": "127.0.0.1"},
        network_mode="host",
        name=f"deployer-bench-old-{os.getpid()}",
    )
    data = old_server_source().encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("old_server.py")
        info.size, info.mode, info.uid, info.gid = len(data), 0o644, 10001, 10001
        tar.addfile(info, io.BytesIO(data))
    container.put_archive("/app", archive.getvalue())
    container.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            status, _ = one_request(port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            if status == 200:
                return container
        time.sleep(0.2)
    container.remove(force=True)
    raise RuntimeError("the old server did not answer /health")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--base-image", default="deployer-base:bookworm")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-docker-") as tmp:
        os.environ["DEPLOYER_HOME"] = str(Path(tmp) / "home")
        runner, times = deploy_twice(Path(tmp), args.base_image)
        results["deploy_first_s"], results["deploy_cached_s"] = times
        try:
            port = int(runner.state["port"])
            results["runtime"] = load(
                port, request(port, headers_of(runner)), args.concurrency, args.seconds
            )
            try:
                old_port = free_port()
                old = run_old_server(runner, old_port)
            except Exception as exc:  # the old server may not exist in this checkout's history
                log(f"old server skipped: {exc}")
            else:
                try:
                    results["old_server"] = load(
                        old_port, request(old_port, {}), args.concurrency, args.seconds
                    )
                finally:
                    old.remove(force=True)
        finally:
            runner.remove(image=True)
            runner.close()
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"deploy (first build): {results['deploy_first_s']:.2f} s")
    print(f"deploy (cached image): {results['deploy_cached_s']:.2f} s")
    print(f"trivial function at c={args.concurrency}, keep-alive raw sockets:")
    print(f"  {'server':<12} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name in ("runtime", "old_server"):
        row = results.get(name)
        if row:
            print(
                f"  {name:<12} {row['rps']:>9.0f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f}"
                f" {row['errors']:>7}"
            )
    if "old_server" in results:
        ratio = results["runtime"]["rps"] / results["old_server"]["rps"]
        print(f"  runtime / old server: {ratio:.2f}x req/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
