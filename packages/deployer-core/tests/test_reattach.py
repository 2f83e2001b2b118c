"""Reattaching (what every `deployer run` does) imports the runner class recorded at deploy
and nothing of the registry, the adapter or the selector; a record whose class moved falls
back to the registry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from deployer.deployment.factory import DeploymentFactory, recorded_runner_class
from deployer.models import DeployConfig, DeploymentInfo
from deployer.runtime.runner import Runner

pytestmark = pytest.mark.usefixtures("home")


def _info(runner_class: str | None) -> DeploymentInfo:
    return DeploymentInfo(
        name="r", strategy="local", source_path=Path("/nonexistent"), runner_class=runner_class
    )


def test_recorded_runner_class_imports_the_recorded_class() -> None:
    found = recorded_runner_class(_info("deployer_local.targets.process:LocalProcessRunner"))
    assert found is not None and issubclass(found, Runner)
    assert found.__name__ == "LocalProcessRunner"


@pytest.mark.parametrize(
    "recorded",
    [None, "", "no_such_module_xyz:Runner", "deployer_local.targets.process:Gone",
     "deployer.models:DeploymentInfo", "json:loads"],
)  # fmt: skip
def test_a_missing_moved_or_foreign_class_is_none(recorded: str | None) -> None:
    assert recorded_runner_class(_info(recorded)) is None


def test_deploy_records_the_class_and_run_loads_no_registry(
    make_solution, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOYER_STRATEGIES", "local")
    root = make_solution()
    software = DeploymentFactory().create(
        DeployConfig(
            solution={"code_path": root}, strategy="local", name="r", options={"mode": "process"}
        )
    )
    try:
        info = DeploymentFactory().store.get("r")
        assert info.runner_class == "deployer_local.targets.process:LocalProcessRunner"
        probe = (
            "import json, sys\n"
            "from deployer.deployment.factory import DeploymentFactory\n"
            "out = DeploymentFactory().attach('r').run({'name': 'x'})\n"
            "heavy = ('deployer.plugins.registry', 'deployer.adapter.agent', "
            "'deployer.selector.agent', 'yaml')\n"
            "print(json.dumps([out, [m for m in heavy if m in sys.modules]]))\n"
        )
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              check=True, timeout=120)  # fmt: skip
        answer, loaded = json.loads(done.stdout)
        assert answer == {"status": "success", "output": {"hi": "x"}}
        assert loaded == []
    finally:
        software.remove()


def test_a_record_without_a_class_still_reattaches_through_the_registry(
    make_solution, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records written before runner_class existed (or whose class moved) keep working."""
    monkeypatch.setenv("DEPLOYER_STRATEGIES", "local")
    factory = DeploymentFactory()
    software = factory.create(
        DeployConfig(
            solution={"code_path": make_solution()},
            strategy="local",
            name="old",
            options={"mode": "inprocess"},
        )
    )
    try:
        info = factory.store.get("old")
        info.runner_class = "deployer_local.targets.moved_away:LocalInProcessRunner"
        factory.store.save(info)
        again = DeploymentFactory().attach("old")
        assert type(again.runner).__name__ == "LocalInProcessRunner"
        assert again.run({"name": "y"}) == {"status": "success", "output": {"hi": "y"}}
    finally:
        software.remove()
