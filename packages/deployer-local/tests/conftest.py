"""Fixtures: a private DEPLOYER_HOME per test, and workspaces made by the real adapter."""

from __future__ import annotations

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
from deployer_local.runner import LocalRunner


@pytest.fixture(autouse=True)
def deployer_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "deployer-home"
    monkeypatch.setenv("DEPLOYER_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def registry() -> StrategyRegistry:
    """The installed `local` plugin, found through its real entry point."""
    return StrategyRegistry(enabled=["local"])


def write_solution(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


class Deployments:
    """Builds LocalRunners on adapted workspaces and stops every one of them afterwards."""

    def __init__(self, registry: StrategyRegistry, root: Path) -> None:
        self.registry = registry
        self.root = root
        self.runners: list[LocalRunner] = []

    def context(
        self,
        files: dict[str, str],
        *,
        name: str = "sol",
        options: dict[str, Any] | None = None,
        entrypoint: str | None = None,
        env: dict[str, str] | None = None,
        startup_timeout: float = 60.0,
        run_timeout: float = 30.0,
    ) -> RunnerContext:
        source = write_solution(self.root / "solutions" / name, files)
        adaptation = AdapterAgent(self.registry).adapt(
            SolutionResult(code_path=source),
            DeploymentSetting(strategy="local", reasoning="test"),
            entrypoint=entrypoint,
            name=name,
            options=options,
        )
        resolved = self.registry.get_strategy("local").config.resolve_options(options or {})
        return RunnerContext(
            name=name,
            adapted_path=adaptation.adapted_path,
            run_interface=adaptation.run_interface,
            runtime_dir=deployment_dir(name),
            options=resolved,
            env=env or {},
            startup_timeout=startup_timeout,
            run_timeout=run_timeout,
        )

    def runner(self, context: RunnerContext, state: dict[str, Any] | None = None) -> LocalRunner:
        runner = LocalRunner(context, state)
        self.runners.append(runner)
        return runner

    def deploy(self, files: dict[str, str], **kwargs: Any) -> LocalRunner:
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
def deployments(registry: StrategyRegistry, tmp_path: Path) -> Iterator[Deployments]:
    made = Deployments(registry, tmp_path)
    yield made
    made.cleanup()
