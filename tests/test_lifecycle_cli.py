"""A deployment's life through the real CLI (each call its own process) on the local strategy:
versions, history, rollback, status events, the kept log of a failed attempt, bad input."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from deployer.testing import CliResult, DeployerCli


def solution(root: Path, reply: str, extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.py").write_text(f"{extra}\ndef predict(name):\n    return {{'{reply}': name}}\n")
    return root


def one_line_error(result: CliResult, code: int) -> str:
    assert result.code == code, (result.code, result.out, result.err)
    assert "Traceback" not in result.err, result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert lines[0].startswith("error:") and len(lines) <= 2, lines
    return lines[0]


@pytest.fixture
def local(cli: DeployerCli) -> DeployerCli:
    cli.env["DEPLOYER_STRATEGIES"] = "local"
    return cli


def deploy(cli: DeployerCli, root: Path, *more: str) -> CliResult:
    return cli("deploy", str(root), "--strategy", "local", "--name", "svc", *more)


def test_versions_history_rollback_and_status(local: DeployerCli, tmp_path: Path) -> None:
    root = solution(tmp_path / "sol", "v1")
    assert deploy(local, root).code == 0
    error = one_line_error(local("rollback", "svc"), 2)
    assert "no earlier version to roll back to" in error
    solution(root, "v2")
    made = deploy(local, root)
    assert made.code == 0 and "deployed svc version 2" in made.out, made.err
    assert local("run", "svc", '{"name": "a"}').json()["output"] == {"v2": "a"}
    rows = local("history", "svc", "--json").json()
    assert [(r["version"], r["status"], r["live"]) for r in rows] == [
        (1, "stopped", False),
        (2, "running", True),
    ]
    assert rows[0]["source_hash"] != rows[1]["source_hash"] and rows[0]["on_disk"]
    table = local("history", "svc")
    assert table.code == 0 and "v2" not in table.err and "running" in table.out
    rolled = local("rollback", "svc")
    assert rolled.code == 0 and "version 1 is live" in rolled.out, rolled.err
    assert local("run", "svc", '{"name": "b"}').json()["output"] == {"v1": "b"}
    assert "has no version 9" in one_line_error(local("rollback", "svc", "--to", "9"), 2)
    assert "live already" in one_line_error(local("rollback", "svc", "--to", "1"), 2)
    status = local("status", "svc", "--json").json()
    assert status["version"] == 1 and status["status"] == "running"
    kinds = [(e["version"], e["kind"]) for e in status["events"]]
    assert kinds[-3:] == [(1, "ready"), (1, "live"), (2, "stopped")], kinds
    text = local("status", "svc").out
    assert "events:" in text and "v2 stopped" in text
    # --keep 0: only the live version stays on disk
    solution(root, "v3")
    assert deploy(local, root, "--keep", "0").code == 0
    assert [r["version"] for r in local("history", "svc", "--json").json()] == [3]
    assert "has no version 1" in one_line_error(local("rollback", "svc", "--to", "1"), 2)


def test_a_failed_redeploy_keeps_serving_and_points_at_its_log(
    local: DeployerCli, tmp_path: Path
) -> None:
    root = solution(tmp_path / "sol", "good")
    assert deploy(local, root).code == 0
    solution(root, "bad", extra="raise SystemExit('v2 cannot start: missing weights')")
    failed = deploy(local, root, "--startup-timeout", "60")
    assert failed.code == 5
    # the runner's message quotes the last lines of the solution's own output
    assert failed.err.startswith(
        "error: version 2 of 'svc' failed, so svc stays on version 1 (still serving): "
    )
    hint = failed.err.rstrip().splitlines()[-1]
    assert hint.startswith("hint: log of the failed attempt: "), failed.err
    log = Path(hint.removeprefix("hint: log of the failed attempt: "))
    assert "missing weights" in log.read_text()
    assert local("run", "svc", '{"name": "x"}').json()["output"] == {"good": "x"}
    status = local("status", "svc", "--json").json()
    failures = [e for e in status["events"] if e["kind"] == "failed"]
    assert failures and failures[-1]["version"] == 2 and failures[-1]["reason"]
    rows = local("history", "svc", "--json").json()
    assert rows[-1]["status"] == "failed" and not rows[-1]["on_disk"]
    assert "failed to deploy" in one_line_error(local("rollback", "svc", "--to", "2"), 2)


def test_two_redeploys_at_once_through_the_cli(local: DeployerCli, tmp_path: Path) -> None:
    assert deploy(local, solution(tmp_path / "sol", "v1")).code == 0
    slow = solution(tmp_path / "slow", "slow", extra="import time\ntime.sleep(4)")
    command = ["deploy", str(slow), "--strategy", "local", "--name", "svc"]
    procs = [
        local.popen(*command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)
    ]
    outcomes = [(proc.wait(180), proc.stderr.read()) for proc in procs]
    for proc in procs:
        proc.stdout.close()
        proc.stderr.close()
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 7], outcomes
    refused = next(err for code, err in outcomes if code == 7)
    assert refused.startswith("error: deployment 'svc' is being changed by another deployer")
    assert "Traceback" not in refused
    assert [r["version"] for r in local("history", "svc", "--json").json()] == [1, 2]


def test_logs_since_json_and_follow_across_a_redeploy(local: DeployerCli, tmp_path: Path) -> None:
    import json
    import time
    from datetime import UTC, datetime

    root = tmp_path / "sol"
    root.mkdir()
    (root / "main.py").write_text("def predict(name):\n    print('v1 says', name)\n    return 1\n")
    assert deploy(local, root).code == 0
    assert local("run", "svc", '{"name": "early"}').code == 0
    rows = [json.loads(line) for line in local("logs", "svc", "--json").out.splitlines()]
    said = next(r for r in rows if r["line"] == "v1 says early")
    assert said["name"] == "svc" and said["version"] == 1 and said["at"]
    time.sleep(1.2)  # stamps have whole seconds: keep both calls a second from the mark
    mark = datetime.now(UTC).isoformat()
    time.sleep(1.2)
    assert local("run", "svc", '{"name": "late"}').code == 0
    time.sleep(0.6)  # the runtime flushes its access log a few times a second
    recent = local("logs", "svc", "--since", mark).out
    assert "v1 says late" in recent and "v1 says early" not in recent
    assert "v1 says early" in local("logs", "svc", "--since", "1h").out
    bad = local("logs", "svc", "--since", "yesterday")
    assert bad.code == 2 and "neither a duration" in bad.err and "Traceback" not in bad.err
    follower = local.popen(
        "logs", "svc", "-f", "--json", stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        time.sleep(1.5)
        (root / "main.py").write_text(
            "def predict(name):\n    print('v2 says', name)\n    return 2\n"
        )
        assert deploy(local, root).code == 0
        assert local("run", "svc", '{"name": "new"}').code == 0
        time.sleep(1.5)
    finally:
        local("rm", "svc")  # removed while following: the follower ends by itself
    out, err = follower.communicate(timeout=30)
    assert follower.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert any(r["line"] == "v2 says new" and r["version"] == 2 for r in lines), lines
    assert any(r["line"] == "[deployer] svc is now version 2" for r in lines)
    assert "deployment svc was removed" in err
