"""Fixtures: a private DEPLOYER_HOME per test module (overriding core's per-test one), real
deployments that are always removed, and `langgraph dev` servers started by tests, stopped
even when a test fails. `registry` is core's (every installed plugin: langgraph and local).

Starting `langgraph dev` takes seconds, so deployments that a module's tests share are made
once per module, in that module's own home.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deployer.plugins.registry import StrategyRegistry
from deployer_langgraph import availability
from langgraph_support import Deployments, DevServer


@pytest.fixture(scope="module", autouse=True)
def deployer_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("deployer-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEPLOYER_HOME", str(home))
        patch.delenv("DEPLOYER_STRATEGIES", raising=False)
        patch.delenv(availability.URL_ENV, raising=False)
        for name in availability.API_KEY_ENVS:
            patch.delenv(name, raising=False)
        yield home


@pytest.fixture(scope="module")
def module_deployments(registry: StrategyRegistry) -> Iterator[Deployments]:
    made = Deployments(registry)
    yield made
    made.cleanup()


@pytest.fixture
def deployments(registry: StrategyRegistry) -> Iterator[Deployments]:
    made = Deployments(registry)
    yield made
    made.cleanup()


@pytest.fixture
def start_dev_server(tmp_path: Path) -> Iterator[Callable[[Path], DevServer]]:
    """Start a real `langgraph dev` in a workspace, outside deployer; stopped afterwards."""
    servers: list[DevServer] = []

    def start(workspace: Path) -> DevServer:
        server = DevServer(workspace, tmp_path / f"dev-server-{len(servers)}.log")
        servers.append(server)
        server.wait()
        return server

    yield start
    for server in servers:
        server.stop()
