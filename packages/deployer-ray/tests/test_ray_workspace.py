"""workspace.py on workspaces adapted by the real adapter (no cluster needed)."""

from __future__ import annotations

import json

import pytest

from deployer.errors import DeployFailedError
from deployer.models import RunInterface
from deployer_ray import workspace

FASTAPI_APP = {
    "main.py": """
        from fastapi import FastAPI

        app = FastAPI()


        @app.post("/shout")
        def shout(payload: dict) -> dict:
            return {"shout": str(payload.get("text", "")).upper()}
    """
}


def test_function_workspace_gets_the_runtime_and_the_spec(deployments) -> None:
    context = deployments.context(
        {"main.py": "def predict(text: str) -> str:\n    return text\n"}, name="fn"
    )
    plan = workspace.prepare(context.adapted_path, context.run_interface)
    assert plan == workspace.AppPlan("function", workspace.ENTRY_CLASS, "")
    runtime = context.adapted_path / "deployer_runtime"
    assert (runtime / "loader.py").is_file() and (runtime / "__init__.py").is_file()
    spec = json.loads((context.adapted_path / workspace.SPEC_FILE).read_text())
    assert spec["entrypoint"] == "main:predict" and spec["entry_kind"] == "function"
    assert plan.as_state() == {"entry_kind": "function", "deployment_class": "DeployerApp"}


def test_asgi_app_is_bound_as_the_ingress_at_its_route(deployments) -> None:
    context = deployments.context(FASTAPI_APP, name="web")
    plan = workspace.prepare(context.adapted_path, context.run_interface)
    assert plan == workspace.AppPlan("asgi", workspace.ASGI_CLASS, "/shout")
    spec = json.loads((context.adapted_path / workspace.SPEC_FILE).read_text())
    assert spec["entry_kind"] == "asgi" and spec["flavor"] == "fastapi"


def test_a_kind_serve_cannot_host_is_one_readable_line(tmp_path) -> None:
    (tmp_path / workspace.APP_FILE).write_text("", encoding="utf-8")
    graph = RunInterface(entrypoint="agent:graph", entry_kind="graph")
    with pytest.raises(DeployFailedError) as info:
        workspace.prepare(tmp_path, graph)
    assert "graph" in info.value.message and "\n" not in info.value.message
    assert "local" in (info.value.hint or "")
    assert not (tmp_path / "deployer_runtime").exists()  # nothing half-written


def test_a_workspace_without_the_app_file_says_to_deploy_again(tmp_path) -> None:
    with pytest.raises(DeployFailedError, match="deployer_ray_app.py is missing"):
        workspace.prepare(tmp_path, RunInterface(entrypoint="main:predict"))


def test_relative_asgi_route_gets_its_slash() -> None:
    interface = RunInterface(entrypoint="main:app", entry_kind="asgi", route="run")
    assert workspace.plan(interface).route == "/run"
    assert workspace.plan(RunInterface(entrypoint="main:app", entry_kind="asgi")).route == "/"


NEEDS_SIX = {
    "main.py": "import six\n\n\ndef predict(text: str) -> str:\n    return six.u(text)\n",
    "requirements.txt": "six\nray[serve]>=2\n",
}


def test_a_private_cluster_on_a_venv_without_pip_is_refused_before_it_starts(
    deployments, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ray's runtime_env pip clones the driver's venv and runs its pip; without one, say so in
    one line before a head node is started, not from inside Ray's setup minutes later."""
    from deployer.runtime import venvs
    from deployer_ray import cluster

    context = deployments.context(NEEDS_SIX, name="nopip", options={"address": "local"})
    runner = deployments.runner(context)
    assert runner.pip_requirements() == ["six"]  # Ray itself is the cluster's, never pip's
    monkeypatch.setattr(venvs, "module_installed", lambda name: name != "pip")
    monkeypatch.setattr(cluster, "start_head", lambda *a, **k: pytest.fail("a cluster started"))
    monkeypatch.setattr("sys.prefix", "/a/venv")  # a virtual environment, as with hatch or uv
    with pytest.raises(DeployFailedError) as info:
        runner.deploy()
    assert "runtime_env needs pip in deployer's own Python environment" in info.value.message
    assert "\n" not in info.value.message and "ensurepip" in (info.value.hint or "")
    assert "cluster_pid" not in runner.state and "address" not in runner.state


def test_a_remote_cluster_or_pip_present_is_not_refused(
    deployments, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deployer.runtime import venvs

    remote = deployments.runner(
        deployments.context(NEEDS_SIX, name="far", options={"address": "10.0.0.9:6379"})
    )
    monkeypatch.setattr("sys.prefix", "/a/venv")
    with monkeypatch.context() as patch:
        patch.setattr(venvs, "module_installed", lambda name: name != "pip")
        remote.check_private_cluster_can_install()  # the remote cluster has its own Python
    private = deployments.runner(
        deployments.context(NEEDS_SIX, name="near", options={"address": "local"})
    )
    private.check_private_cluster_can_install()  # this environment has pip
    no_requirements = deployments.runner(
        deployments.context(
            {"main.py": "def predict(x: int) -> int:\n    return x\n"},
            name="bare",
            options={"address": "local"},
        )
    )
    monkeypatch.setattr(venvs, "module_installed", lambda name: name != "pip")
    no_requirements.check_private_cluster_can_install()  # nothing for pip to install
