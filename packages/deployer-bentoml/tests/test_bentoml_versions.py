"""Versions on the bentoml strategy (target=local), against real `bentoml serve` processes:
each version is its own server (own port, own workspace); a redeploy under a steady stream of
calls fails none of them; a failing version k+1 leaves k serving; rollback restarts a stopped
version health first; --keep removes old versions' files; `logs -f` follows the redeploy."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

import deployer
from bentoml_support import BENTOML_MISSING, HAS_BENTOML
from deployer.deployment.factory import DeploymentFactory
from deployer.errors import DeployFailedError
from deployer.plugin import is_alive
from deployer.testing import DeployerCli, SteadyCalls, wait_until

pytestmark = [
    pytest.mark.real,
    pytest.mark.slow,
    pytest.mark.skipif(not HAS_BENTOML, reason=BENTOML_MISSING),
]


def version_files(reply: str, extra: str = "") -> dict[str, str]:
    return {"main.py": f"{extra}\ndef predict(name: str):\n    return {{'{reply}': name}}\n"}


def steady_calls(name: str) -> SteadyCalls:
    """Calls through one handle, back to back, as a client of the live service would."""
    handle = deployer.attach(name)
    return SteadyCalls(lambda: handle.run({"name": "x"}))


def answers(calls: SteadyCalls) -> set[str]:
    """Which versions answered (each replies with its own key)."""
    return {next(iter(output)) for output in calls.outputs()}


class Follower:
    """`deployer logs NAME -f` in a second process, its output collected as it comes."""

    def __init__(self, cli: DeployerCli, name: str) -> None:
        self.proc = cli.popen(
            "logs",
            name,
            "-f",
            env={**cli.env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def text(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self._reader.join(10)


def test_redeploy_without_failed_calls_then_rollback_and_keep(deployments, registry, cli):
    root = deployments.solution("svc", version_files("v1"))
    first = deployments.deploy(root, name="svc")
    assert first.version == 1 and first.run({"name": "a"})["output"] == {"v1": "a"}
    old_pid, old_port = first.runner.state["pid"], first.runner.state["port"]
    old_workspace = first.info.adapted_path
    follower = Follower(cli, "svc")
    try:
        assert wait_until(lambda: "POST" in follower.text())  # it follows version 1's log
        deployments.solution("svc", version_files("v2"))
        with steady_calls("svc") as calls:
            wait_until(lambda: len(calls.results) >= 5)
            second = deployments.deploy(root, name="svc")
            count = len(calls.results)
            wait_until(lambda: len(calls.results) >= count + 5)
        assert calls.failed() == [] and len(calls.results) >= 10
        assert answers(calls) == {"v1", "v2"}  # served by k, then by k+1, nothing in between
        assert second.version == 2
        assert second.runner.state["port"] != old_port
        assert second.info.adapted_path != old_workspace
        assert wait_until(lambda: not is_alive(old_pid))  # k stopped once k+1 was live...
        assert old_workspace.is_dir()  # ...and kept for rollback
        assert deployer.attach("svc").run({"name": "b"})["output"] == {"v2": "b"}
        # `logs -f` started on version 1 goes on with version 2's own server log
        switched = "[deployer] svc is now version 2"
        assert wait_until(lambda: switched in follower.text()), follower.text()[-2000:]
        assert wait_until(lambda: "/run" in follower.text().split(switched, 1)[1])
    finally:
        follower.stop()

    # rollback: version 1's server starts again (health first), then version 2 stops
    second_pid = second.runner.state["pid"]
    rolled = cli("rollback", "svc")
    assert rolled.code == 0, rolled.err
    back = deployer.attach("svc")
    assert back.version == 1 and back.run({"name": "r"})["output"] == {"v1": "r"}
    assert back.runner.state["port"] != second.runner.state["port"]
    assert wait_until(lambda: not is_alive(second_pid))
    listed = cli.json("history", "svc", "--json")
    assert {(v["version"], v["live"]) for v in listed} == {(1, True), (2, False)}

    # --keep 1: version 3 goes live; of the others only the newest (2) is kept with its files
    deployments.solution("svc", version_files("v3"))
    third = deployments.deploy(root, name="svc", keep=1)
    assert third.version == 3 and third.run({"name": "t"})["output"] == {"v3": "t"}
    assert not old_workspace.exists() and second.info.adapted_path.is_dir()
    assert [v["version"] for v in cli.json("history", "svc", "--json")] == [2, 3]


def test_a_failing_new_version_keeps_the_old_one_serving(deployments, registry):
    root = deployments.solution("svc", version_files("good"))
    first = deployments.deploy(root, name="svc")
    pid = first.runner.state["pid"]
    broken = "import time\ntime.sleep(2)\nraise RuntimeError('broken v2')"
    deployments.solution("svc", version_files("bad", extra=broken))
    with steady_calls("svc") as calls:
        wait_until(lambda: len(calls.results) >= 3)
        with pytest.raises(DeployFailedError) as failed:
            deployments.deploy(root, name="svc", startup_timeout=90)
    message = failed.value.message
    assert "version 2 of 'svc' failed, so svc stays on version 1 (still serving)" in message
    assert "RuntimeError: broken v2" in message
    assert calls.failed() == [] and answers(calls) == {"good"}
    assert is_alive(pid)
    assert deployer.attach("svc").run({"name": "after"})["output"] == {"good": "after"}
    history = {r.version: r for r in DeploymentFactory(registry).store.versions("svc")}
    assert history[1].live and history[2].status == "failed"
    kept_log = Path(failed.value.hint.split("log of the failed attempt: ", 1)[1].split(";")[0])
    assert "broken v2" in kept_log.read_text()
