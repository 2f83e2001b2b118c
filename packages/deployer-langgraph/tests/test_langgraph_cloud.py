"""The cloud target. No LangGraph Platform account is reachable here, so the one fake is at
the cloud boundary: the deployment URL is a real `langgraph dev` server started by the test
on 127.0.0.1 (a genuine LangGraph server, serving a copy adapted as the user would ship it).
Everything on deployer's side — availability, the health and graph checks, runs, threads,
streaming, stop/start, reattaching from another process — runs for real against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from deployer.adapter.agent import AdapterAgent
from deployer.errors import DeployFailedError
from deployer.models import DeploymentSetting, SolutionResult
from deployer.plugin import free_port, is_alive
from deployer.plugins.registry import StrategyRegistry
from langgraph_support import (
    AGENT_EXAMPLE,
    FUNCTION_EXAMPLE,
    Deployments,
    DevServer,
    require_dev,
)

pytestmark = [pytest.mark.real, pytest.mark.slow]
KEY = "lsv2_test_key_for_the_stand_in"


@pytest.fixture
def shipped(
    registry: StrategyRegistry, start_dev_server: Callable[[Path], DevServer]
) -> Callable[[Path], DevServer]:
    """Adapt a solution as deployer would and serve it with langgraph dev: the stand-in for
    a LangGraph Platform deployment the user shipped."""
    require_dev()

    def ship(solution: Path) -> DevServer:
        adapted = AdapterAgent(registry).adapt(
            SolutionResult(code_path=solution),
            DeploymentSetting(strategy="langgraph", reasoning="shipped by the test"),
        )
        return start_dev_server(adapted.adapted_path)

    return ship


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LANGSMITH_API_KEY", KEY)
    return KEY


def test_cloud_target_against_a_stand_in_server(
    deployments: Deployments, shipped, api_key: str
) -> None:
    server = shipped(AGENT_EXAMPLE)
    software = deployments.deploy(
        AGENT_EXAMPLE, name="cloudy", options={"target": "cloud", "url": server.url}
    )
    info = software.info
    assert info.provider == "langgraph-cloud" and info.endpoint == server.url
    assert info.runner_state == {
        "target": "cloud",
        "running": True,
        "url": server.url,
        "auth": "api_key",
        "graph_id": "agent",
        "kind": "graph",
    }
    assert KEY not in json.dumps(info.model_dump(mode="json"))
    assert software.runner.sdk_client().http.client.headers["x-api-key"] == KEY
    assert software.run({"question": "6*7"})["output"]["answer"] == "42"
    assert software.run({"question": "1+1", "thread": "t"})["output"]["turns"] == 1
    assert software.run({"question": "1+1", "thread": "t"})["output"]["turns"] == 2
    assert software.run({"question": ""})["error"].startswith("ValueError: the question is empty")
    parts = list(software.stream({"question": "reverse: x"}))
    assert parts[-1] == {"status": "success"}
    nodes = [next(iter(p["output"])) for p in parts[:-1]]
    assert nodes == ["route", "reverse", "respond"]
    notes = software.logs()
    assert "ready: graph 'agent' is served (graph)" in notes and "langgraph deploy" in notes

    software.stop()
    assert not software.is_healthy() and software.status() == "stopped"
    assert "is not running" in software.run({"question": "hi"})["error"]
    software.start()
    assert software.run({"question": "2*5"})["output"]["answer"] == "10"

    # another process reattaches from the state store; the key comes from its environment
    env = {**os.environ, "LANGSMITH_API_KEY": KEY}
    proc = subprocess.run(
        [sys.executable, "-m", "deployer", "run", "cloudy", '{"question": "3*3"}'],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["output"]["answer"] == "9"

    software.remove()
    assert is_alive(server.proc.pid)  # the server is not deployer's to remove


def test_cloud_learns_a_wrapped_function_from_the_server(
    deployments: Deployments, shipped, api_key: str
) -> None:
    server = shipped(FUNCTION_EXAMPLE)
    software = deployments.deploy(
        FUNCTION_EXAMPLE, name="cloud-fn", options={"target": "cloud", "url": server.url}
    )
    assert software.info.runner_state["kind"] == "function"
    assert software.run({"name": "Ada"}) == {
        "status": "success",
        "output": {"message": "Hello, Ada!", "length": 3},
    }


def test_self_hosted_server_without_a_key(deployments: Deployments, shipped) -> None:
    server = shipped(FUNCTION_EXAMPLE)
    software = deployments.deploy(
        FUNCTION_EXAMPLE,
        name="self-hosted",
        options={"target": "cloud", "url": server.url, "auth": "none"},
    )
    assert "x-api-key" not in software.runner.sdk_client().http.client.headers
    assert software.run({"name": "Bo"})["output"]["message"] == "Hello, Bo!"


def test_graph_not_shipped_yet_says_how_to_ship(
    deployments: Deployments, shipped, api_key: str
) -> None:
    server = shipped(FUNCTION_EXAMPLE)
    with pytest.raises(DeployFailedError) as caught:
        deployments.deploy(
            AGENT_EXAMPLE,
            name="unshipped",
            options={"target": "cloud", "url": server.url, "graph_id": "router"},
        )
    assert caught.value.message == (
        f"the LangGraph server at {server.url} serves no graph 'router' (it serves agent)"
    )
    assert "langgraph deploy --name unshipped" in (caught.value.hint or "")


def test_unreachable_server(deployments: Deployments, api_key: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DeployFailedError, match=f"cannot reach the LangGraph server at {url}"):
        deployments.deploy(AGENT_EXAMPLE, name="nowhere", options={"target": "cloud", "url": url})
