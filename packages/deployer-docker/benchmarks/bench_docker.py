"""deployer-docker figures on a real engine: prints them, asserts nothing.

- wheelhouse: `pip download` of examples/slugify's dependencies for the image (cold cache);
- cold build: the image built with no layer cache (`nocache`);
- warm rebuild: the same, unchanged solution built again (every layer from the cache);
- time to healthy: a fresh container created and started until /health answers, and a
  stopped container started again;
- run() overhead: 1,000 `DockerRunner.run()` calls versus 1,000 bare httpx POSTs (one
  keep-alive client) to the same container.

The engine is the one DOCKER_HOST names, else the one ci/setup.sh recorded in
/var/lib/deployer-docker/env; the base image is DEPLOYER_DOCKER_BASE_IMAGE (default the one
setup.sh imports). Usage: python packages/deployer-docker/benchmarks/bench_docker.py [--calls N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
EXAMPLE = REPO / "examples" / "slugify"
STATE = Path(os.environ.get("DEPLOYER_DOCKER_STATE", "/var/lib/deployer-docker"))


def engine_settings() -> tuple[str, str]:
    saved: dict[str, str] = {}
    env_file = STATE / "env"
    if env_file.is_file():
        for line in env_file.read_text().splitlines():
            key, _, value = line.partition("=")
            saved[key.strip()] = value.strip()
    host = os.environ.get("DOCKER_HOST") or saved.get("DOCKER_HOST") or ""
    base = os.environ.get("DEPLOYER_DOCKER_BASE_IMAGE") or saved.get(
        "DEPLOYER_DOCKER_BASE_IMAGE", "deployer-base:bookworm"
    )
    return host, base


def timed(label: str, func, results: dict[str, float]):
    started = time.perf_counter()
    value = func()
    results[label] = time.perf_counter() - started
    print(f"{label:<38} {results[label]:8.2f} s", flush=True)
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    host, base_image = engine_settings()
    if host:
        os.environ["DOCKER_HOST"] = host
    home = Path(tempfile.mkdtemp(prefix="bench-docker-"))
    os.environ["DEPLOYER_HOME"] = str(home)

    import httpx

    from deployer.adapter.agent import AdapterAgent
    from deployer.models import DeploymentSetting, SolutionResult
    from deployer.paths import deployment_dir
    from deployer.plugins.registry import StrategyRegistry
    from deployer.runtime.runner import RunnerContext
    from deployer_docker import container as ct
    from deployer_docker import workspace
    from deployer_docker.availability import check_engine
    from deployer_docker.build import build_image
    from deployer_docker.runner import BUILD_LOG, DockerRunner

    availability = check_engine()
    if not availability.available:
        print(f"no Docker engine: {availability.reason} (run ci/setup.sh --keep-running)")
        return 2
    registry = StrategyRegistry(enabled=["docker"])
    options = {"base_image": base_image, "wheelhouse": True}
    name = f"bench-{os.getpid()}"
    adaptation = AdapterAgent(registry).adapt(
        SolutionResult(code_path=EXAMPLE),
        DeploymentSetting(strategy="docker", reasoning="benchmark"),
        name=name,
        options=options,
    )
    context = RunnerContext(
        name=name,
        adapted_path=adaptation.adapted_path,
        run_interface=adaptation.run_interface,
        runtime_dir=deployment_dir(name),
        options=registry.get_strategy("docker").config.resolve_options(options),
        startup_timeout=600,
        run_timeout=60,
    )
    runner = DockerRunner(context)
    results: dict[str, float] = {}
    print(f"engine {host or 'default'}, base image {base_image}, example {EXAMPLE.name}")
    print(f"load average before: {os.getloadavg()}")
    try:
        client = runner._docker()
        buildargs = timed(
            "wheelhouse (pip download, cold)",
            lambda: workspace.prepare(context, client, base_image, runner.runtime_dir, print),
            results,
        )

        def build(nocache: bool) -> str:
            return build_image(
                client,
                context.adapted_path,
                tag=ct.image_tag(name),
                log_path=context.runtime_dir / BUILD_LOG,
                progress=lambda _: None,
                buildargs=buildargs,
                network_mode="host",
                base_image=base_image,
                nocache=nocache,
            )

        timed("cold build (no layer cache)", lambda: build(True), results)
        timed("warm rebuild (unchanged, cached)", lambda: build(False), results)
        timed("deploy (warm build + container)", runner.deploy, results)
        runner._remove_container(client)
        timed("fresh container -> healthy", runner.start, results)
        runner.stop()
        timed("stopped container started -> healthy", runner.start, results)

        inputs = {"text": "Benchmarks, measured honestly"}
        assert runner.run(inputs)["status"] == "success"
        url = f"{runner.endpoint}/run"
        body = json.dumps(inputs).encode()
        bare: list[float] = []
        through: list[float] = []
        headers = {"Content-Type": "application/json"}
        with httpx.Client(trust_env=False) as bare_client:
            bare_client.post(url, content=body, headers=headers)
            # interleaved, so that load from other processes hits both series alike
            for _ in range(args.calls):
                started = time.perf_counter()
                bare_client.post(url, content=body, headers=headers)
                bare.append(time.perf_counter() - started)
                started = time.perf_counter()
                runner.run(inputs)
                through.append(time.perf_counter() - started)
        bare_ms = statistics.median(bare) * 1000
        run_ms = statistics.median(through) * 1000
        print(f"bare httpx POST, median of {args.calls:<9} {bare_ms:8.3f} ms")
        print(f"DockerRunner.run(), median of {args.calls:<7} {run_ms:8.3f} ms")
        print(f"run() overhead per call (median)       {(run_ms - bare_ms) * 1000:8.0f} us")
        print(
            f"means: bare {statistics.mean(bare) * 1000:.3f} ms, "
            f"run() {statistics.mean(through) * 1000:.3f} ms"
        )
    finally:
        runner.remove(image=True)
        runner.close()
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
