"""The plugin without a server: registration, options, availability per target, selection
signals, thread ids, and the cloud target refused without its URL or key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from deployer.deployment.factory import deploy
from deployer.errors import OptionError, StrategyUnavailableError
from deployer.models import SolutionResult
from deployer.plugins.registry import StrategyRegistry
from deployer.selector.agent import SelectorAgent
from deployer_langgraph import availability
from deployer_langgraph.sdk import split_thread, thread_uuid
from langgraph_support import AGENT_EXAMPLE, FUNCTION_EXAMPLE, write_solution


def test_registered_with_valid_config(registry: StrategyRegistry) -> None:
    record = next(r for r in registry.records() if r.name == "langgraph")
    assert (record.package, record.status) == ("deployer-langgraph", "ok")
    config = registry.get_strategy("langgraph").config
    assert {"stream", "threads", "logs", "restart"} <= set(config.capabilities)
    assert config.resolve_options({})["target"] == "auto"
    assert config.resolve_options({"target": "cloud"})["target"] == "cloud"
    with pytest.raises(OptionError):
        config.resolve_options({"target": "moon"})


def test_plugin_module_stays_light() -> None:
    probe = (
        "import json, sys, deployer_langgraph;"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('langgraph', 'langgraph_sdk', 'httpx', 'deployer_langgraph') )))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["deployer_langgraph", "deployer_langgraph.availability"]


def test_target_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    assert availability.resolve_target({"target": "auto"}) == "dev"
    assert availability.resolve_target({"target": "auto", "url": "http://h:1"}) == "cloud"
    assert availability.resolve_target({"target": "dev", "url": "http://h:1"}) == "dev"
    monkeypatch.setenv(availability.URL_ENV, "https://example.invalid/")
    assert availability.resolve_target(None) == "cloud"
    assert availability.cloud_url(None) == "https://example.invalid"


def test_cloud_availability_needs_url_then_key(monkeypatch: pytest.MonkeyPatch) -> None:
    no_url = availability.availability({"target": "cloud"})
    assert not no_url.available and "URL" in no_url.reason and "--option url=" in no_url.hint
    no_key = availability.availability({"target": "cloud", "url": "https://lg.example"})
    assert not no_key.available
    assert "LANGSMITH_API_KEY is not set" in no_key.reason and "auth=none" in no_key.hint
    bad = availability.availability({"target": "cloud", "url": "ftp://lg.example"})
    assert not bad.available and "http://" in bad.reason
    assert availability.availability(
        {"target": "cloud", "url": "https://x", "auth": "none"}
    ).available
    # a key given to the deployment (--env / --env-file) counts, though the shell lacks it
    assert availability.availability(
        {"target": "cloud", "url": "https://lg.example"}, env_keys=["LANGSMITH_API_KEY"]
    ).available
    monkeypatch.setenv("LANGSMITH_API_KEY", "lsv2-test")
    assert availability.availability({"target": "cloud", "url": "https://lg.example"}).available


def test_dev_availability_and_graph_id(tmp_path: Path) -> None:
    missing = availability.availability({"target": "dev", "python": str(tmp_path / "nope")})
    assert not missing.available and "was not found" in missing.reason
    bad_id = availability.availability({"graph_id": 'a"b'})
    assert not bad_id.available and "graph_id" in bad_id.reason


def test_dev_unavailable_without_langgraph_api() -> None:
    """Where langgraph_api cannot be found, dev says why and how to fix it."""
    probe = (
        "import importlib.util;"
        "find = importlib.util.find_spec;"
        "importlib.util.find_spec = lambda n, *a: None if n == 'langgraph_api' else find(n, *a);"
        "from deployer_langgraph import availability; a = availability.availability(None);"
        "print(a.available, '|', a.reason, '|', a.hint)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    available, reason, hint = (part.strip() for part in out.stdout.split("|"))
    assert available == "False"
    assert "langgraph_api is not installed" in reason
    assert "deployer-langgraph[dev]" in hint


def test_cloud_target_without_key_is_refused_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(StrategyUnavailableError) as caught:
        deploy(AGENT_EXAMPLE, strategy="langgraph", target="cloud", url="https://lg.example")
    assert "LANGSMITH_API_KEY is not set" in caught.value.message
    with pytest.raises(StrategyUnavailableError, match="needs the URL"):
        deploy(AGENT_EXAMPLE, strategy="langgraph", target="cloud")


def test_thread_ids() -> None:
    fixed = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert thread_uuid(fixed) == fixed
    assert thread_uuid("alice") == thread_uuid("alice") != thread_uuid("bob")
    assert split_thread({"q": 1}, "") == ({"q": 1}, None)
    assert split_thread({"q": 1}, "conv") == ({"q": 1}, thread_uuid("conv"))
    assert split_thread({"q": 1, "thread": "alice"}, "conv") == ({"q": 1}, thread_uuid("alice"))
    assert split_thread({"q": 1, "thread": None}, "conv") == ({"q": 1}, None)
    with pytest.raises(TypeError, match="'thread' must be a string"):
        split_thread({"thread": 3}, "")


def test_selection_signals(registry: StrategyRegistry) -> None:
    selector = SelectorAgent(registry)
    agent = selector.select(SolutionResult(code_path=AGENT_EXAMPLE))
    assert agent.strategy == "langgraph"
    reasons = " ".join(agent.ranking[0].reasons)
    assert "depends on langgraph" in reasons and "StateGraph" in reasons
    assert selector.select(SolutionResult(code_path=FUNCTION_EXAMPLE)).strategy == "local"


def test_selection_by_langgraph_json_and_goal_words(
    registry: StrategyRegistry, tmp_path: Path
) -> None:
    selector = SelectorAgent(registry)
    shipped = write_solution(
        tmp_path / "shipped",
        {"graph.py": "def run(x):\n    return x\n", "langgraph.json": '{"graphs": {}}'},
    )
    ranking = selector.select(SolutionResult(code_path=shipped)).ranking
    langgraph = next(r for r in ranking if r.strategy == "langgraph")
    assert any("langgraph.json" in reason for reason in langgraph.reasons)
    goal = "a conversational agent with tools for multi-step questions"
    chosen = selector.select(SolutionResult(code_path=shipped, goal=goal))
    assert chosen.strategy == "langgraph"
    said = " ".join(chosen.ranking[0].reasons)
    assert all(word in said for word in ("'agent'", "'tools'", "'multi-step'", "'conversational'"))
