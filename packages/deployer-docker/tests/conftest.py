"""Fixtures: a private DEPLOYER_HOME per test, a real Docker engine per session (see
docker_support), and deployments that are always removed. Core's pytest plugin ships
`deployer_home` and `registry`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer.plugins.registry import StrategyRegistry
from docker_support import Deployments, Engine, locate_or_start_engine, remove_images, stop_daemon


@pytest.fixture(scope="session")
def deployer_strategy() -> str:
    return "docker"


@pytest.fixture(autouse=True)
def private_home(deployer_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own DEPLOYER_HOME and sees every installed strategy."""
    monkeypatch.delenv("DEPLOYER_STRATEGIES", raising=False)
    return deployer_home


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Engine]:
    """A running engine with the base image, started (and stopped at the end, by its pid)
    when none was running; DOCKER_HOST points at it for the session."""
    engine = locate_or_start_engine()
    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = engine.host
    try:
        yield engine
    finally:
        remove_images(engine)
        if previous is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = previous
        if engine.started_pid is not None:
            stop_daemon(engine.started_pid)


@pytest.fixture
def deployments(
    registry: StrategyRegistry, tmp_path: Path, docker_engine: Engine
) -> Iterator[Deployments]:
    made = Deployments(registry, tmp_path, docker_engine)
    yield made
    made.cleanup()
