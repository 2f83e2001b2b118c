"""The adapter resolves entry points through repo.shapes: manifests and detected candidates,
with errors naming the user's directory (never the temporary workspace)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.adapter.agent import AdapterAgent
from deployer.errors import EntrypointError
from deployer.models import DeploymentSetting, SolutionResult
from deployer.paths import workspaces_dir
from deployer.plugins.registry import StrategyRegistry

PUBLISHED = Path(__file__).resolve().parents[3] / "examples" / "published"


@pytest.fixture
def agent(plugins, home):
    return AdapterAgent(StrategyRegistry([plugins.make("tpl")]))


SETTING = DeploymentSetting(strategy="tpl", reasoning="test")


def test_no_entry_point_names_the_users_directory(agent, make_solution) -> None:
    root = make_solution({"lib/tools.py": "def predict(x):\n    return x\n"})
    with pytest.raises(EntrypointError) as info:
        agent.adapt(SolutionResult(code_path=root), SETTING, adaptation="templates")
    message = str(info.value)
    assert f"no entry point found in {root}" in message
    assert "--entrypoint lib.tools:predict" in message
    assert str(workspaces_dir()) not in message


def test_a_kind_the_strategy_cannot_run_is_one_clear_line(agent) -> None:
    """The test strategy declares no entry_kinds: it runs functions only."""
    with pytest.raises(EntrypointError) as info:
        agent.adapt(SolutionResult(code_path=PUBLISHED / "cog_predictor"), SETTING)
    message = str(info.value)
    assert "predict:Predictor is a cog class (from cog.yaml predict)" in message
    assert "the tpl strategy cannot run (it runs: function)" in message
    assert str(PUBLISHED / "cog_predictor") in message and "\n" not in message
    assert not any(p.name.startswith(".") for p in workspaces_dir().iterdir())  # nothing kept


def test_a_strategy_that_declares_the_kind_gets_its_run_interface(plugins, home) -> None:
    entry = plugins.make("kinds", extra_config="entry_kinds: [function, class]\n")
    agent = AdapterAgent(StrategyRegistry([entry]))
    setting = DeploymentSetting(strategy="kinds", reasoning="test")
    result = agent.adapt(SolutionResult(code_path=PUBLISHED / "cog_predictor"), setting)
    interface = result.run_interface
    assert (interface.entrypoint, interface.entry_kind, interface.flavor) == (
        "predict:Predictor",
        "class",
        "cog",
    )
    assert interface.source == "cog.yaml predict" and interface.setup == ["setup"]


def test_detected_function_is_adapted(agent) -> None:
    result = agent.adapt(SolutionResult(code_path=PUBLISHED / "setup_py_deps"), SETTING)
    assert result.run_interface.entrypoint == "predict:predict"
    assert result.run_interface.parameters == ["text", "separator"]


GRAPH_FACTORY = """
from langgraph.graph import StateGraph


def make_graph() -> StateGraph:
    return StateGraph(dict)


def plain(x: int) -> int:
    return x
"""


@pytest.mark.parametrize(
    ("entrypoint", "kind"),
    [("app:square", "modal_function"), ("agent:make_graph", "graph"), ("agent:plain", "function")],
)
def test_an_explicit_def_is_recorded_as_the_kind_it_is(
    plugins, home, make_solution, entrypoint, kind
) -> None:
    """`--entrypoint app:square` on a Modal function is a modal_function and a graph factory
    is a graph, as detection would say, not a plain function (status and the strategies read
    the kind); a plain `def` stays on the templates' function path."""
    root = make_solution(
        {"app.py": (PUBLISHED / "modal_app" / "app.py").read_text(), "agent.py": GRAPH_FACTORY}
    )
    entry = plugins.make("kinds", extra_config="entry_kinds: [function, graph, modal_function]\n")
    agent = AdapterAgent(StrategyRegistry([entry]))
    setting = DeploymentSetting(strategy="kinds", reasoning="test")
    result = agent.adapt(SolutionResult(code_path=root), setting, entrypoint=entrypoint)
    assert (result.run_interface.entrypoint, result.run_interface.entry_kind) == (entrypoint, kind)


def test_an_explicit_modal_function_on_a_functions_only_strategy_is_refused(agent) -> None:
    with pytest.raises(EntrypointError) as info:
        agent.adapt(
            SolutionResult(code_path=PUBLISHED / "modal_app"), SETTING, entrypoint="app:square"
        )
    message = str(info.value)
    assert "app:square is a modal_function (from option)" in message, message
    assert "the tpl strategy cannot run (it runs: function)" in message
