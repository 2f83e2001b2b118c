"""Fixtures: a private DEPLOYER_HOME (core's `deployer_home`) and BENTOML_HOME per test, no
BentoCloud login, core's `registry` of the bentoml strategy, and deployments made through
`deployer.deploy` (the whole factory, not only the runner) that are removed afterwards."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import deployer
from deployer.deployment.software import DeployedSoftware
from deployer.plugins.registry import StrategyRegistry
from deployer.testing import DeployerCli, write_solution


@pytest.fixture(scope="session")
def deployer_strategy() -> str:
    return "bentoml"


@pytest.fixture(autouse=True)
def homes(deployer_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Private state for deployer and bentoml; any real BentoCloud login is hidden."""
    monkeypatch.setenv("BENTOML_HOME", str(tmp_path / "bentoml-home"))
    monkeypatch.setenv("BENTOML_DO_NOT_TRACK", "True")
    monkeypatch.delenv("BENTO_CLOUD_API_KEY", raising=False)
    monkeypatch.delenv("BENTO_CLOUD_API_ENDPOINT", raising=False)
    monkeypatch.delenv("DEPLOYER_STRATEGIES", raising=False)
    return deployer_home


class Deployments:
    """Deploys through deployer.deploy(strategy="bentoml") and removes every deployment."""

    def __init__(self, registry: StrategyRegistry, root: Path) -> None:
        self.registry = registry
        self.root = root
        self.made: list[DeployedSoftware] = []

    def solution(self, name: str, files: dict[str, str]) -> Path:
        return write_solution(self.root / "solutions" / name, files)

    def deploy(self, path: Path, *, name: str, **kwargs: Any) -> DeployedSoftware:
        kwargs.setdefault("startup_timeout", 120.0)
        kwargs.setdefault("run_timeout", 60.0)
        software = deployer.deploy(
            path, strategy="bentoml", name=name, registry=self.registry, **kwargs
        )
        self.made.append(software)
        return software

    def cleanup(self) -> None:
        for software in reversed(self.made):
            try:
                software.remove()
            except Exception:
                pid = software.runner.state.get("pid")
                if pid:  # last resort: never leave a server behind
                    subprocess.run(["kill", "-9", f"-{pid}"], check=False)


@pytest.fixture
def deployments(registry: StrategyRegistry, tmp_path: Path) -> Iterator[Deployments]:
    made = Deployments(registry, tmp_path)
    yield made
    made.cleanup()


class Cli(DeployerCli):
    """Core's runner sharing this test's homes, plus `json(*args)`: the parsed output of a
    command that must succeed."""

    def json(self, *args: str) -> Any:
        result = self(*args)
        assert result.code == 0, result.err
        return result.json()


@pytest.fixture
def cli(homes: Path) -> Iterator[Cli]:
    runner = Cli(homes)
    yield runner
    listed = runner("ls", "--json")
    if listed.code == 0:  # remove whatever a failed test left deployed from the CLI
        for info in json.loads(listed.out or "[]"):
            runner("rm", info["name"], "--force")
