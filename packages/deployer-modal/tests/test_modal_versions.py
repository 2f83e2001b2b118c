"""Versions through core with target=local (the generated app imported for real): a redeploy
under a steady stream of calls fails none of them; a failing version leaves the old one
serving; rollback brings the old one back. (The cloud target's mapping onto Modal's own app
versions is tested up to Modal's API in test_modal_cloud_path.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

import deployer
from deployer.deployment.factory import DeploymentFactory
from deployer.deployment.state import StateStore
from deployer.deployment.versions import rollback
from deployer.errors import DeployFailedError
from deployer.testing import DeployerCli, SteadyCalls, write_solution

pytestmark = pytest.mark.usefixtures("remove_deployments")  # every deployment, all versions


def solution(root: Path, reply: str, extra: str = "") -> Path:
    return write_solution(
        root,
        {"main.py": f"{extra}\ndef predict(name: str) -> dict:\n    return {{'{reply}': name}}\n"},
    )


def test_redeploy_under_steady_calls_fails_none(tmp_path) -> None:
    root = solution(tmp_path / "sol", "v1")
    first = deployer.deploy(root, "modal", name="svc", target="local")
    solution(root, "v2")
    with SteadyCalls(lambda: first.run({"name": "x"})) as calls:
        second = deployer.deploy(root, "modal", name="svc", target="local")
    assert second.version == 2
    assert calls.results and calls.failed() == []
    answers = calls.outputs()
    assert answers[0] == {"v1": "x"}
    assert {"v1", "v2"} >= {key for answer in answers for key in answer}
    # the handle of version 1 follows the name to version 2 (version 1 was stopped)
    assert first.run({"name": "d"}) == {"status": "success", "output": {"v2": "d"}}
    assert [(r.version, r.status, r.live) for r in StateStore().versions("svc")] == [
        (1, "stopped", False),
        (2, "running", True),
    ]


def test_a_failing_version_keeps_the_old_one_serving_then_rollback(tmp_path) -> None:
    root = solution(tmp_path / "sol", "good")
    live = deployer.deploy(root, "modal", name="svc", target="local")
    solution(root, "bad", extra="raise RuntimeError('broken v2')")
    steady = SteadyCalls(lambda: live.run({"name": "x"}))
    with steady as calls, pytest.raises(DeployFailedError) as failed:
        deployer.deploy(root, "modal", name="svc", target="local")
    assert "version 2 of 'svc' failed, so svc stays on version 1 (still serving)" in (
        failed.value.message
    )
    assert "broken v2" in failed.value.message
    assert calls.results and all(
        r == {"status": "success", "output": {"good": "x"}} for r in calls.results
    )
    assert deployer.attach("svc").run({"name": "after"})["output"] == {"good": "after"}
    solution(root, "v3")
    assert deployer.deploy(root, "modal", name="svc", target="local").version == 3
    back = rollback(DeploymentFactory(), "svc")
    assert back.version == 1 and back.run({"name": "r"})["output"] == {"good": "r"}
    assert live.run({"name": "s"})["output"] == {"good": "s"}
    assert deployer.attach("svc").readiness().state == "ready"


def test_cli_rollback_and_stop_reach_a_process_that_holds_the_app(tmp_path, deployer_home) -> None:
    """The app lives in each caller's process: what `deployer rollback` and `deployer stop`
    do in another process reaches a handle held here."""
    cli = DeployerCli(deployer_home, unset=())  # this test's environment, as it is

    root = solution(tmp_path / "sol", "v1")
    deployer.deploy(root, "modal", name="svc", target="local")
    solution(root, "v2")
    held = deployer.deploy(root, "modal", name="svc", target="local")
    assert held.run({"name": "a"})["output"] == {"v2": "a"}
    back = cli("rollback", "svc", timeout=120)
    assert back.code == 0, back.err
    assert held.run({"name": "b"}) == {"status": "success", "output": {"v1": "b"}}
    history = cli("history", "svc", "--json", timeout=120).json()
    assert [(v["version"], v["live"]) for v in history] == [(1, True), (2, False)]
    stopped = cli("stop", "svc", timeout=120)
    assert stopped.code == 0, stopped.err
    refused = held.run({"name": "c"})
    assert refused["status"] == "error" and "is not running" in refused["error"]
