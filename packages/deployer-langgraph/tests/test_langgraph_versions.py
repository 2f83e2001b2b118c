"""Versions on the dev target against real `langgraph dev` servers: each version is its own
server on its own port; a redeploy under a steady stream of calls fails none of them; a
version whose graph fails to load leaves the old server serving; rollback; `logs -f` follows
the name across a redeploy."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import deployer
from deployer.deployment.factory import DeploymentFactory
from deployer.deployment.versions import rollback
from deployer.errors import DeployFailedError
from deployer.plugin import is_alive
from deployer.testing import SteadyCalls
from langgraph_support import require_dev, write_solution

pytestmark = [pytest.mark.real, pytest.mark.slow]


def solution(root: Path, reply: str, extra: str = "") -> Path:
    code = f"{extra}\n\ndef predict(name: str) -> dict:\n    return {{'{reply}': name}}\n"
    return write_solution(root, {"main.py": code})


def test_versions_on_langgraph_dev_under_a_steady_stream(tmp_path, remove_deployments) -> None:
    require_dev()
    root = solution(tmp_path / "sol", "v1")
    first = deployer.deploy(root, "langgraph", name="lgv", target="dev")
    assert first.run({"name": "a"}) == {"status": "success", "output": {"v1": "a"}}
    first_pid, first_port = first.runner.state["pid"], first.runner.state["port"]
    followed: list[str] = []
    done = threading.Event()

    def follow() -> None:
        for chunk in deployer.attach("lgv").follow_logs(tail=0, poll=0.2, until=done.is_set):
            followed.append(chunk)

    follower = threading.Thread(target=follow)
    follower.start()
    try:
        with SteadyCalls(lambda: deployer.attach("lgv").run({"name": "x"})) as calls:
            solution(root, "v2")
            second = deployer.deploy(root, "langgraph", name="lgv", target="dev")
            switched_at = len(calls.results)
            # version 3's module raises on import: its server never serves the graph
            solution(root, "v3", extra="raise RuntimeError('broken v3')")
            with pytest.raises(DeployFailedError) as failed:
                deployer.deploy(root, "langgraph", name="lgv", target="dev", startup_timeout=120)
            after_failure = deployer.attach("lgv").run({"name": "y"})
    finally:
        done.set()
        follower.join(60)
    results = calls.results
    failures = [r for r in results if r["status"] != "success"]
    assert failures == [] and switched_at >= 2, failures[:3]
    outputs = [r["output"] for r in results]
    assert outputs[0] == {"v1": "x"} and {"v2": "x"} in outputs and {"v3": "x"} not in outputs
    message = failed.value.message
    assert "version 3 of 'lgv' failed, so lgv stays on version 2 (still serving)" in message
    assert "broken v3" in message
    assert after_failure == {"status": "success", "output": {"v2": "y"}}
    # each version its own server on its own port; version 1's is stopped after the switch
    assert second.version == 2 and second.runner.state["port"] != first_port
    assert not is_alive(first_pid, first.runner.state.get("pid_start_time"))
    # logs -f followed the name onto version 2's server log
    text = "".join(followed)
    assert "[deployer] lgv is now version 2" in text
    assert f"--port {second.runner.state['port']}" in text.split("is now version 2", 1)[1]
    back = rollback(DeploymentFactory(), "lgv")
    assert back.version == 1 and back.run({"name": "r"})["output"] == {"v1": "r"}
    assert deployer.attach("lgv").run({"name": "s"})["output"] == {"v1": "s"}
    assert not is_alive(second.runner.state["pid"], second.runner.state.get("pid_start_time"))
