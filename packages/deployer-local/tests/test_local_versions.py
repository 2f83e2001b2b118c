"""Versions on the local strategy, against real server processes: a redeploy starts version
k+1 beside k and switches only once it is healthy; a failing k+1 leaves k serving (called
during and after); rollback, --keep and two redeploys at once."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import psutil
import pytest

import deployer
from deployer.deployment.factory import DeploymentFactory
from deployer.deployment.state import StateStore
from deployer.deployment.versions import rollback
from deployer.errors import DeployFailedError, StateError, UsageError
from deployer.paths import deployer_home, workspaces_dir
from deployer.testing import SteadyCalls, write_solution

pytestmark = pytest.mark.usefixtures("remove_deployments")  # every deployment, all versions


def solution(root: Path, reply: str, extra: str = "") -> Path:
    return write_solution(
        root, {"main.py": f"{extra}\ndef predict(name):\n    return {{'{reply}': name}}\n"}
    )


def alive(pid: int | None) -> bool:
    return bool(pid) and psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"


def test_redeploy_makes_a_new_version_beside_the_old_then_stops_it(tmp_path) -> None:
    root = solution(tmp_path / "sol", "v1")
    first = deployer.deploy(root, "local", name="svc")
    assert first.version == 1 and first.run({"name": "a"})["output"] == {"v1": "a"}
    old_pid, old_workspace = first.runner.state["pid"], first.info.adapted_path
    solution(root, "v2")
    second = deployer.deploy(root, "local", name="svc")
    assert second.version == 2
    assert second.run({"name": "b"})["output"] == {"v2": "b"}
    assert deployer.attach("svc").run({"name": "c"})["output"] == {"v2": "c"}
    assert second.info.adapted_path != old_workspace and old_workspace.is_dir()  # kept on disk
    assert second.runner.state["pid"] != old_pid and not alive(old_pid)
    # the handle of version 1 follows the name to version 2 instead of failing
    assert first.run({"name": "d"})["output"] == {"v2": "d"}
    history = StateStore().versions("svc")
    assert [(r.version, r.status, r.live) for r in history] == [
        (1, "stopped", False),
        (2, "running", True),
    ]
    assert history[0].info.source_hash != history[1].info.source_hash


def test_a_failing_new_version_leaves_the_old_one_serving(tmp_path) -> None:
    root = solution(tmp_path / "sol", "good")
    deployer.deploy(root, "local", name="svc")
    # version 2 loads for a while, then fails: calls made meanwhile must reach version 1
    solution(root, "bad", extra="import time\ntime.sleep(2)\nraise RuntimeError('broken v2')")
    steady = SteadyCalls(lambda: deployer.attach("svc").run({"name": "x"}))
    with steady as calls, pytest.raises(DeployFailedError) as failed:
        deployer.deploy(root, "local", name="svc", startup_timeout=60)
    results = calls.results
    message = failed.value.message
    assert "version 2 of 'svc' failed, so svc stays on version 1 (still serving)" in message
    assert "broken v2" in message or "RuntimeError" in message
    kept = Path(failed.value.hint.split("log of the failed attempt: ", 1)[1].split(";")[0])
    assert kept.is_file() and kept.resolve().is_relative_to(deployer_home().resolve())
    assert "broken v2" in kept.read_text()
    assert len(results) > 3 and all(r == {"status": "success", "output": {"good": "x"}}
                                    for r in results)  # fmt: skip
    assert deployer.attach("svc").run({"name": "after"})["output"] == {"good": "after"}
    history = {r.version: r for r in StateStore().versions("svc")}
    assert history[1].live and history[2].status == "failed" and "broken v2" in history[2].reason
    assert not history[2].info.adapted_path.exists()  # the failed workspace is gone
    events = [(e.version, e.kind) for e in StateStore().events("svc")]
    assert (2, "failed") in events and (1, "ready") in events


def test_rollback_brings_the_previous_version_back_health_first(tmp_path) -> None:
    root = solution(tmp_path / "sol", "v1")
    factory = DeploymentFactory()
    deployer.deploy(root, "local", name="svc")
    with pytest.raises(UsageError, match="no earlier version to roll back to"):
        rollback(factory, "svc")
    solution(root, "v2")
    deployer.deploy(root, "local", name="svc")
    back = rollback(factory, "svc")
    assert back.version == 1 and back.run({"name": "r"})["output"] == {"v1": "r"}
    assert deployer.attach("svc").version == 1
    with pytest.raises(UsageError, match="is live already"):
        rollback(factory, "svc", to=1)
    again = rollback(factory, "svc", to=2)
    assert again.run({"name": "s"})["output"] == {"v2": "s"}
    with pytest.raises(UsageError, match="has no version 9"):
        rollback(factory, "svc", to=9)


def test_keep_removes_older_versions_with_their_workspaces(tmp_path) -> None:
    root = solution(tmp_path / "sol", "v1")
    workspaces = [deployer.deploy(root, "local", name="svc").info.adapted_path]
    for reply in ("v2", "v3"):
        solution(root, reply)
        workspaces.append(deployer.deploy(root, "local", name="svc", keep=1).info.adapted_path)
    assert [r.version for r in StateStore().versions("svc")] == [2, 3]
    assert not workspaces[0].exists() and workspaces[1].is_dir() and workspaces[2].is_dir()
    with pytest.raises(UsageError, match="has no version 1 \\(kept versions: 2, 3\\)"):
        rollback(DeploymentFactory(), "svc", to=1)


def test_a_record_from_before_versions_reads_as_version_one(tmp_path) -> None:
    root = solution(tmp_path / "sol", "v1")
    deployer.deploy(root, "local", name="old")
    store = StateStore()
    with sqlite3.connect(store.path) as db:  # as written by a deployer without versions
        db.execute("DELETE FROM versions")
        record = json.loads(db.execute("SELECT info FROM deployments").fetchone()[0])
        del record["version"], record["source_hash"]
        db.execute("UPDATE deployments SET info = ?", (json.dumps(record),))
    assert [(r.version, r.live) for r in store.versions("old")] == [(1, True)]
    solution(root, "v2")
    assert deployer.deploy(root, "local", name="old").version == 2
    assert [r.version for r in store.versions("old")] == [1, 2]


def test_two_redeploys_at_once_one_wins_the_other_is_refused(tmp_path) -> None:
    root = solution(tmp_path / "sol", "v1")
    deployer.deploy(root, "local", name="svc")
    slow = solution(tmp_path / "slow", "slow", extra="import time\ntime.sleep(3)")
    outcomes: list[object] = []

    def redeploy() -> None:
        try:
            outcomes.append(deployer.deploy(slow, "local", name="svc").version)
        except StateError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=redeploy) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    wins = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, str)]
    assert wins == [2], outcomes
    assert len(refused) == 1 and "is being changed by another deployer command" in refused[0]
    assert "\n" not in refused[0]
    assert deployer.attach("svc").run({"name": "z"})["output"] == {"slow": "z"}


def test_doctor_keeps_old_versions_and_cleans_a_killed_redeploy(tmp_path) -> None:
    import subprocess
    import sys

    from deployer.deployment.doctor import examine
    from deployer.models import Owner

    root = solution(tmp_path / "sol", "v1")
    deployer.deploy(root, "local", name="svc")
    solution(root, "v2")
    deployer.deploy(root, "local", name="svc")
    factory = DeploymentFactory()
    assert examine(factory) == []  # version 1's workspace is kept, not an orphan
    # a redeploy killed midway: its version row still names the process that made it
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    record = factory.store.versions("svc")[0].info
    half_made = workspaces_dir() / "svc-killed"
    half_made.mkdir()
    stuck = record.model_copy(
        update={"version": 3, "owner": Owner(pid=int(gone.stdout)), "adapted_path": half_made}
    )
    factory.store.save_version(stuck, "deploying")
    found = examine(factory)
    assert [f.kind for f in found] == ["stuck version"] and "svc version 3" in found[0].what
    assert examine(factory, fix=True)[0].fixed
    assert examine(factory) == []
    rows = {r.version: r for r in factory.store.versions("svc")}
    assert rows[3].status == "failed" and not half_made.exists()
    assert rows[1].info.adapted_path.is_dir()
    assert deployer.attach("svc").run({"name": "q"})["output"] == {"v2": "q"}
