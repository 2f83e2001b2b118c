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


def test_manifest_entry_that_is_not_a_function_is_one_clear_line(agent) -> None:
    with pytest.raises(EntrypointError) as info:
        agent.adapt(SolutionResult(code_path=PUBLISHED / "cog_predictor"), SETTING)
    message = str(info.value)
    assert "predict:Predictor (cog class, from cog.yaml predict) is not a plain function" in message
    assert str(PUBLISHED / "cog_predictor") in message and "\n" not in message


def test_detected_function_is_adapted(agent) -> None:
    result = agent.adapt(SolutionResult(code_path=PUBLISHED / "setup_py_deps"), SETTING)
    assert result.run_interface.entrypoint == "predict:predict"
    assert result.run_interface.parameters == ["text", "separator"]
