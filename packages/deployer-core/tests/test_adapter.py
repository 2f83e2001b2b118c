"""AdapterAgent: a clean copy, rendered templates, validation, and an untouched original."""

from __future__ import annotations

import os

import pytest

from deployer.adapter.agent import AdapterAgent
from deployer.errors import AdaptationError, EntrypointError, OptionError, SolutionError
from deployer.models import DeploymentSetting, SolutionResult
from deployer.paths import workspaces_dir
from deployer.plugins.registry import StrategyRegistry
from deployer.testing import tree_hash


@pytest.fixture
def agent(plugins, home):
    return AdapterAgent(StrategyRegistry([plugins.make("tpl")]))


SETTING = DeploymentSetting(strategy="tpl", reasoning="test")


def _solution(path):
    return SolutionResult(code_path=path)


def test_copies_renders_and_validates(agent, make_solution):
    root = make_solution(
        {
            "main.py": "def predict(inputs):\n    return inputs\n",
            "data/model.txt": "weights",
            ".git/config": "[core]",
            "__pycache__/main.cpython-311.pyc": "x",
            "myenv/pyvenv.cfg": "home = /usr",
            "node_modules/x.js": "",
            ".langgraph_api/store.pckl": "runs of the user's own dev server",
        }
    )
    before = tree_hash(root)
    result = agent.adapt(_solution(root), SETTING, options={"flavour": "fancy"})
    work = result.adapted_path
    assert work.is_relative_to(workspaces_dir())
    assert (work / "data/model.txt").read_text() == "weights"
    for ignored in (".git", "__pycache__", "myenv", "node_modules", ".langgraph_api"):
        assert not (work / ignored).exists()
    rendered = (work / "deployer_entry.txt").read_text()
    assert rendered == "entry=main:predict convention=dict flavour=fancy $HOME $DEPLOYER_PORT\n"
    assert result.files_changed == ["deployer_entry.txt"]
    assert result.run_interface.calling_convention == "dict"
    assert "deployer_entry.txt present" in result.validation
    assert tree_hash(root) == before


def test_existing_file_is_kept_not_overwritten(agent, make_solution):
    root = make_solution(
        {"main.py": "def predict(x):\n    return x\n", "deployer_entry.txt": "mine\n"}
    )
    result = agent.adapt(_solution(root), SETTING)
    assert (result.adapted_path / "deployer_entry.txt").read_text() == "mine\n"
    assert "kept the solution's own deployer_entry.txt" in result.validation


def test_missing_path_and_file_path(agent, tmp_path):
    with pytest.raises(SolutionError, match="does not exist"):
        agent.adapt(_solution(tmp_path / "nope"), SETTING)
    (tmp_path / "file.py").write_text("")
    with pytest.raises(SolutionError, match="not a directory"):
        agent.adapt(_solution(tmp_path / "file.py"), SETTING)


def test_failures_leave_no_workspace(agent, make_solution):
    root = make_solution({"lib.py": "def helper(): ...\n"})
    with pytest.raises(EntrypointError):
        agent.adapt(_solution(root), SETTING)
    with pytest.raises(OptionError):
        agent.adapt(_solution(root), SETTING, options={"nope": 1})
    assert os.listdir(workspaces_dir()) == []


def test_template_with_unknown_placeholder_fails_cleanly(plugins, home, make_solution):
    ep = plugins.make("badtpl", files={"templates/x.py.tmpl": "print('$deployer_nonsense')\n"})
    agent = AdapterAgent(StrategyRegistry([ep]))
    with pytest.raises(AdaptationError, match=r"unknown placeholder \$deployer_nonsense"):
        agent.adapt(_solution(make_solution()), DeploymentSetting(strategy="badtpl", reasoning=""))
    assert os.listdir(workspaces_dir()) == []


def test_rendered_python_must_compile(plugins, home, make_solution):
    ep = plugins.make("badpy", files={"templates/server.py.tmpl": "def broken(:\n"})
    agent = AdapterAgent(StrategyRegistry([ep]))
    with pytest.raises(AdaptationError, match="server.py does not compile"):
        agent.adapt(_solution(make_solution()), DeploymentSetting(strategy="badpy", reasoning=""))


def test_required_file_missing_fails_validation(plugins, home, make_solution):
    ep = plugins.make("req", skip=("templates/deployer_entry.txt.tmpl",))
    agent = AdapterAgent(StrategyRegistry([ep]))
    with pytest.raises(AdaptationError, match="lacks deployer_entry.txt"):
        agent.adapt(_solution(make_solution()), DeploymentSetting(strategy="req", reasoning=""))


def test_symlink_in_solution_is_not_written_through(agent, make_solution, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = make_solution({"main.py": "def predict(x):\n    return x\n"})
    (root / "deployer_entry.txt").symlink_to(outside / "target.txt")
    before = tree_hash(root)
    result = agent.adapt(_solution(root), SETTING)
    # a symlink leading outside the solution is never copied, so the template is rendered
    # into a regular file of the workspace and nothing is written through the link
    written = result.adapted_path / "deployer_entry.txt"
    assert written.is_file() and not written.is_symlink()
    assert any("symlinks that point outside" in note and "deployer_entry.txt" in note
               for note in result.left_out)  # fmt: skip
    assert not (outside / "target.txt").exists()
    assert tree_hash(root) == before
