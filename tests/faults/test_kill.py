"""Nothing lost, nothing left running: `deployer deploy` killed with SIGKILL at many moments,
concurrent starts of one deployment, a solution that double-forks a daemon, and `deployer
doctor --fix` cleaning up afterwards. Real processes throughout."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from deployer.testing import DeployerCli, wait_until

pytestmark = pytest.mark.slow

SLOW_LOAD = "import time\ntime.sleep(1.5)\n\ndef predict(name='x'):\n    return {'hi': name}\n"
DAEMON = """\
import os, sys, time

def _daemon():
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    time.sleep(600)
    os._exit(0)

_daemon()

def predict(name="x"):
    return {"hi": name}
"""


def solution(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.py").write_text(text)
    return root


def marked(home: Path, name: str | None = None) -> list[int]:
    """Processes carrying this home's deployment marker (see runtime/server.py)."""
    found = []
    for process in psutil.process_iter():
        try:
            environ = process.environ()
        except psutil.Error:
            continue
        deployment = environ.get("DEPLOYER_DEPLOYMENT")
        if environ.get("DEPLOYER_HOME") == str(home) and deployment and name in (None, deployment):
            found.append(process.pid)
    return found


def deployment_of(pid: int) -> str | None:
    try:
        return psutil.Process(pid).environ().get("DEPLOYER_DEPLOYMENT")
    except psutil.Error:
        return None


def live(pids: list[int]) -> list[int]:
    """The pids that are neither gone nor zombies waiting for their parent."""
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.Error:
            continue
    return alive


def describe(pids: list[int]) -> list[str]:
    out = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            out.append(f"{pid} ppid={process.ppid()} {process.status()} {process.cmdline()}")
        except psutil.Error:
            continue
    return out


def recorded_pid(home: Path, name: str) -> int | None:
    db_path = home / "state.db"
    if not db_path.exists():
        return None
    db = sqlite3.connect(db_path)
    try:
        row = db.execute("SELECT info FROM deployments WHERE name=?", (name,)).fetchone()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    return json.loads(row[0]).get("runner_state", {}).get("pid") if row else None


def deploy_process(cli: DeployerCli, root: Path, name: str) -> subprocess.Popen[str]:
    return cli.popen(
        "deploy", str(root), "--strategy", "local", "--name", name, "--startup-timeout", "120",
        env={**cli.env, "DEPLOYER_STRATEGIES": "local"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def test_kill_during_the_health_wait_then_rm_stops_the_server(
    cli: DeployerCli, tmp_path: Path
) -> None:
    root = solution(tmp_path / "sol", SLOW_LOAD.replace("1.5", "30"))
    deploy = deploy_process(cli, root, "k")
    assert wait_until(lambda: recorded_pid(cli.home, "k") is not None, limit=60)  # recorded at once
    server = recorded_pid(cli.home, "k")
    os.kill(deploy.pid, signal.SIGKILL)
    deploy.wait()
    assert psutil.pid_exists(server)
    done = cli("rm", "k")
    assert done.code == 0, done.err
    assert wait_until(
        lambda: (
            not psutil.pid_exists(server) or psutil.Process(server).status() == psutil.STATUS_ZOMBIE
        ),
        limit=60,
    )
    assert marked(cli.home) == []


def test_sigkill_at_twenty_moments_then_doctor_fix_leaves_nothing(
    cli: DeployerCli, tmp_path
) -> None:
    root = solution(tmp_path / "sol", SLOW_LOAD)
    moments = random.Random(int(os.environ.get("DEPLOYER_KILL_SEED", "20261201")))
    for attempt in range(20):
        name = f"kill{attempt}"
        deploy = deploy_process(cli, root, name)
        time.sleep(moments.uniform(0.0, 3.0))  # copy, venv, spawn, health wait or done
        deploy.send_signal(signal.SIGKILL)
        deploy.wait()
        fixed = cli("doctor", "--fix", "--json")
        assert fixed.code == 0, fixed.err
        rows = cli("ls", "--json").json()
        assert all(row["status"] != "deploying" for row in rows), rows
        kept = {row["name"] for row in rows}  # a deploy that finished before the kill

        def strays(kept: set[str] = kept) -> list[int]:
            return [p for p in live(marked(cli.home)) if deployment_of(p) not in kept]

        assert wait_until(lambda: strays() == [], limit=15), (
            attempt, fixed.out, describe(strays()))  # fmt: skip
        staging = [p for p in (cli.home / "workspaces").glob(".*")] if (
            cli.home / "workspaces").exists() else []  # fmt: skip
        assert staging == []
        for row in rows:  # a deploy that finished before the kill is a working deployment
            assert cli("run", row["name"], '{"name": "ok"}').code == 0
            assert cli("rm", row["name"]).code == 0
            assert wait_until(lambda n=row["name"]: live(marked(cli.home, n)) == [], limit=15)
    assert cli("doctor", "--json").json() == []


def test_four_concurrent_starts_start_one_server(cli: DeployerCli, tmp_path: Path) -> None:
    root = solution(tmp_path / "sol", SLOW_LOAD)
    cli.env["DEPLOYER_STRATEGIES"] = "local"
    assert cli("deploy", str(root), "--strategy", "local", "--name", "c").code == 0
    assert cli("stop", "c").code == 0
    assert marked(cli.home, "c") == []
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: cli("start", "c"), range(4)))
    assert all(r.code == 0 for r in results), [r.err for r in results]
    assert sum(r.out.startswith("started") for r in results) == 1
    assert sum("already running" in r.out for r in results) == 3
    assert len(marked(cli.home, "c")) == 1
    assert cli("run", "c", '{"name": "one"}').code == 0
    assert cli("rm", "c").code == 0
    assert wait_until(lambda: marked(cli.home, "c") == [], limit=60)


def test_a_double_forked_daemon_is_stopped_by_rm(cli: DeployerCli, tmp_path: Path) -> None:
    root = solution(tmp_path / "sol", DAEMON)
    cli.env["DEPLOYER_STRATEGIES"] = "local"
    assert cli("deploy", str(root), "--strategy", "local", "--name", "d").code == 0
    # the server and the daemon
    assert wait_until(lambda: len(marked(cli.home, "d")) >= 2, limit=60)
    done = cli("rm", "d")
    assert done.code == 0 and "could not stop" not in done.err
    assert wait_until(lambda: marked(cli.home, "d") == [], limit=15)


def test_doctor_finds_and_fixes_an_orphan_server_and_stale_staging(
    cli: DeployerCli, tmp_path
) -> None:
    root = solution(tmp_path / "sol", SLOW_LOAD)
    cli.env["DEPLOYER_STRATEGIES"] = "local"
    assert cli("deploy", str(root), "--strategy", "local", "--name", "o").code == 0
    server = recorded_pid(cli.home, "o")
    db = sqlite3.connect(cli.home / "state.db")
    db.execute("DELETE FROM deployments WHERE name='o'")  # the record is lost
    db.commit()
    db.close()
    stale = cli.home / "workspaces" / ".sol-dead-1234"
    stale.mkdir(parents=True)
    (stale / ".deployer-owner").write_text(json.dumps({"pid": 2**22 + 7, "started": "1.0"}))
    found = cli("doctor", "--json").json()
    kinds = sorted({f["kind"] for f in found})
    assert kinds == ["orphan server", "orphan workspace", "stale staging"], found
    assert psutil.pid_exists(server)
    fixed = cli("doctor", "--fix", "--json").json()
    assert all(f["fixed"] for f in fixed), fixed
    assert wait_until(
        lambda: (
            not psutil.pid_exists(server) or psutil.Process(server).status() == psutil.STATUS_ZOMBIE
        ),
        limit=60,
    )
    assert not stale.exists()
    assert cli("doctor").out.strip() == "nothing left behind"
