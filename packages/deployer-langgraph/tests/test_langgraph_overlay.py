"""Solutions with requirements under `langgraph dev`: an overlay environment layered on the
one running the server (real pip, real server)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from deployer.errors import DeployFailedError
from deployer_langgraph import overlay
from langgraph_support import EXAMPLES, Deployments, require_dev, write_solution


def test_read_dependencies(tmp_path: Path) -> None:
    root = write_solution(
        tmp_path / "deps",
        {
            "requirements.txt": "Python_Slugify>=8  # comment\n\n-e ./lib\n",
            "pyproject.toml": '[project]\nname = "x"\ndependencies = ["LangGraph>=0.6"]\n',
        },
    )
    deps = overlay.read_dependencies(root)
    assert deps.normalised == ["-e ./lib", "langgraph>=0.6", "python-slugify>=8"]
    assert deps.local and deps.packages == ["LangGraph>=0.6"]
    assert overlay.read_dependencies(write_solution(tmp_path / "none", {"a.py": ""})).empty


@pytest.mark.real
def test_requirements_the_launcher_has_need_no_overlay(tmp_path: Path) -> None:
    require_dev()
    log = tmp_path / "install.log"
    has = write_solution(tmp_path / "has", {"requirements.txt": "langgraph>=0.1\nhttpx\n"})
    assert overlay.ensure_overlay(has, sys.executable, log) is None
    assert "already installed" in log.read_text()
    for needs in ("deployer-absent-package-xyz>=1", "langgraph<0.0.1", "httpx[http2]", "-e ."):
        deps = write_solution(tmp_path / "needs", {"requirements.txt": needs + "\n"})
        assert not overlay.already_satisfied(sys.executable, overlay.read_dependencies(deps))


@pytest.mark.real
@pytest.mark.slow
def test_requirements_are_installed_for_the_dev_server(deployments: Deployments) -> None:
    """examples/slugify needs python-slugify, which the server's environment lacks."""
    require_dev()
    software = deployments.deploy(EXAMPLES / "slugify", name="slugs")
    venv = software.info.runner_state["venv"]
    assert venv and overlay.is_usable(Path(venv))
    assert software.run({"text": "Hello, Wörld!"}) == {
        "status": "success",
        "output": {"slug": "hello-world"},
    }
    again = deployments.deploy(EXAMPLES / "slugify", name="slugs-again")
    assert again.info.runner_state["venv"] == venv  # cached by the requirements' hash
    assert (
        "reusing the cached environment"
        in (Path(again.runner.context.runtime_dir) / "install.log").read_text()
    )


@pytest.mark.real
@pytest.mark.slow
def test_uninstallable_requirement_is_named(deployments: Deployments, tmp_path: Path) -> None:
    require_dev()
    source = write_solution(
        tmp_path / "bad",
        {
            "main.py": "def predict(x):\n    return x\n",
            "requirements.txt": "deployer-no-such-package-xyz==1.0\n",
        },
    )
    with pytest.raises(DeployFailedError, match="cannot install 'deployer-no-such-package-xyz"):
        deployments.deploy(source, name="badreq")
