"""A real two-node Ray cluster on this machine for the session, and deployments on it."""

from __future__ import annotations

import importlib.util
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deployer.adapter.agent import AdapterAgent
from deployer.models import DeploymentSetting, SolutionResult
from deployer.paths import deployment_dir
from deployer.plugins.registry import StrategyRegistry
from deployer.runtime.runner import RunnerContext

HAVE_RAY = importlib.util.find_spec("ray") is not None


@pytest.fixture(autouse=True)
def deployer_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "deployer-home"
    monkeypatch.setenv("DEPLOYER_HOME", str(home))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    return home


@pytest.fixture(scope="session")
def registry() -> StrategyRegistry:
    return StrategyRegistry(enabled=["ray"])


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Head (1 CPU) + worker (1 CPU, resource node_b) started by pid, stopped by pid."""
    if not HAVE_RAY:
        pytest.skip("ray[serve] is not installed (pip install 'ray[serve]')")
    from deployer_ray import cluster, sdk

    root = tmp_path_factory.mktemp("ray")
    head = cluster.start_head(root / "head", num_cpus=1)
    try:
        worker = cluster.start_worker(
            head.address, root / "worker", num_cpus=1, resources={"node_b": 1}
        )
    except Exception:
        cluster.stop_node(head.pid)
        raise
    try:
        yield {"address": head.address, "head": head, "worker": worker}
    finally:
        sdk.disconnect()
        cluster.stop_node(worker.pid)
        cluster.stop_node(head.pid)


def write_solution(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


class Deployments:
    """RayRunners on workspaces adapted by the real adapter; all removed afterwards."""

    def __init__(self, registry: StrategyRegistry, root: Path, address: str) -> None:
        self.registry, self.root, self.address = registry, root, address
        self.runners: list[Any] = []

    def context(
        self,
        files: dict[str, str],
        *,
        name: str = "sol",
        options: dict[str, Any] | None = None,
        entrypoint: str | None = None,
    ) -> RunnerContext:
        options = {"address": self.address, **(options or {})}
        source = write_solution(self.root / "solutions" / name, files)
        adaptation = AdapterAgent(self.registry).adapt(
            SolutionResult(code_path=source),
            DeploymentSetting(strategy="ray", reasoning="test"),
            entrypoint=entrypoint,
            name=name,
            options=options,
        )
        resolved = self.registry.get_strategy("ray").config.resolve_options(options)
        return RunnerContext(
            name=name,
            adapted_path=adaptation.adapted_path,
            run_interface=adaptation.run_interface,
            runtime_dir=deployment_dir(name),
            options=resolved,
            startup_timeout=240,
            run_timeout=60,
        )

    def runner(self, context: RunnerContext, state: dict[str, Any] | None = None) -> Any:
        from deployer_ray.runner import RayRunner

        runner = RayRunner(context, state)
        self.runners.append(runner)
        return runner

    def deploy(self, files: dict[str, str], **kwargs: Any) -> Any:
        runner = self.runner(self.context(files, **kwargs))
        runner.deploy()
        return runner

    def cleanup(self) -> None:
        for runner in reversed(self.runners):
            try:
                runner.stop()
            finally:
                runner.close()


@pytest.fixture
def deployments(
    registry: StrategyRegistry, tmp_path: Path, ray_cluster: dict[str, Any]
) -> Iterator[Deployments]:
    made = Deployments(registry, tmp_path, ray_cluster["address"])
    yield made
    made.cleanup()
