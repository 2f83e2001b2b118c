"""Fixtures every strategy package's tests need, shipped by core's pytest plugin.

A package's conftest then holds only what is specific to its platform. Override
`deployer_strategy` (a fixture returning the strategy name) to test one strategy; the
`deployments` helper adapts solutions with the real AdapterAgent, builds runners the way the
factory does (`runner_context`, the runner class for the options' target) and stops every one
of them afterwards.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from deployer.plugins.registry import StrategyRegistry
    from deployer.runtime.runner import Runner, RunnerContext


def write_solution(root: Path, files: dict[str, str]) -> Path:
    """A solution directory with these files (text dedented), for tests."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


class Deployments:
    """Adapted workspaces and runners for one strategy, all stopped at the end of the test."""

    def __init__(self, registry: StrategyRegistry, root: Path, strategy: str) -> None:
        self.registry = registry
        self.root = root
        self.strategy = strategy
        self.runners: list[Runner] = []

    def context(
        self,
        files: dict[str, str] | Path,
        *,
        name: str = "sol",
        options: dict[str, Any] | None = None,
        entrypoint: str | None = None,
        env: dict[str, str] | None = None,
        startup_timeout: float = 60.0,
        run_timeout: float = 30.0,
    ) -> RunnerContext:
        """Adapt `files` (or an existing solution directory) and return the runner context."""
        from deployer.adapter.agent import AdapterAgent
        from deployer.deployment.factory import runner_context
        from deployer.models import DeploymentInfo, DeploymentSetting, SolutionResult

        if isinstance(files, Path):
            source = files
        else:
            source = write_solution(self.root / "solutions" / name, files)
        strategy = self.registry.get_strategy(self.strategy)
        resolved = strategy.config.resolve_options(options or {})
        adaptation = AdapterAgent(self.registry).adapt(
            SolutionResult(code_path=source),
            DeploymentSetting(strategy=self.strategy, reasoning="test"),
            entrypoint=entrypoint,
            name=name,
            options=resolved,
        )
        info = DeploymentInfo(
            name=name,
            strategy=self.strategy,
            source_path=source,
            adapted_path=adaptation.adapted_path,
            run_interface=adaptation.run_interface,
            options=resolved,
            run_timeout=run_timeout,
            startup_timeout=startup_timeout,
        )
        return runner_context(info, env or {})

    def runner(self, context: RunnerContext, state: dict[str, Any] | None = None) -> Runner:
        """The runner of the context's target (as the factory picks it), tracked for cleanup."""
        runner_class = self.registry.get_runner_class(self.strategy, context.options)
        runner = runner_class(context, state)
        self.runners.append(runner)
        return runner

    def deploy(self, files: dict[str, str] | Path, **kwargs: Any) -> Runner:
        runner = self.runner(self.context(files, **kwargs))
        runner.deploy()
        return runner

    def cleanup(self) -> None:
        for runner in reversed(self.runners):
            try:
                runner.remove()
            finally:
                close = getattr(runner, "close", None)
                if callable(close):
                    close()


@pytest.fixture
def deployer_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private DEPLOYER_HOME for one test (state store, workspaces, caches)."""
    home = tmp_path / "deployer-home"
    monkeypatch.setenv("DEPLOYER_HOME", str(home))
    return home


@pytest.fixture
def remove_deployments() -> Iterator[None]:
    """After the test, every deployment of the current DEPLOYER_HOME is removed with all its
    versions and processes, also when the test failed half-way through a redeploy."""
    yield
    from deployer.deployment.factory import DeploymentFactory

    factory = DeploymentFactory()
    for name in factory.store.names():
        factory.remove(name, force=True)


@pytest.fixture(scope="session")
def deployer_strategy() -> str | None:
    """The strategy under test; a package's conftest overrides it. None: every installed one."""
    return None


@pytest.fixture(scope="module")
def registry(deployer_strategy: str | None) -> StrategyRegistry:
    """The installed plugins, found through their real entry points. Module-scoped, not
    session-scoped: one session runs the suites of several packages, each overriding
    `deployer_strategy`, and a session-wide registry would keep the first one's."""
    from deployer.plugins.registry import StrategyRegistry

    enabled = [deployer_strategy] if deployer_strategy else None
    return StrategyRegistry(enabled=enabled)


@pytest.fixture
def deployments(
    registry: StrategyRegistry, deployer_strategy: str | None, tmp_path: Path, deployer_home: Path
) -> Iterator[Deployments]:
    """Runners on adapted workspaces of `deployer_strategy`, removed after the test."""
    if not deployer_strategy:
        pytest.fail("override the deployer_strategy fixture to use `deployments`")
    made = Deployments(registry, tmp_path, deployer_strategy)
    yield made
    made.cleanup()
