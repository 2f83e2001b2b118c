"""--env-file (python-dotenv's parser, line numbers in errors, --env wins), availability that
counts the deployment's own variables as set, and `deployer status`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from deployer.cli.main import main
from deployer.deployment.factory import DeploymentFactory
from deployer.errors import InputError, StrategyUnavailableError
from deployer.models import DeployConfig, SolutionResult
from deployer.plugins.registry import StrategyRegistry
from deployer.repo.envfile import read_env_file
from deployer.testing import wait_until

ECHO_ENV = "import os\n\ndef predict(key):\n    return {key: os.environ.get(key)}\n"


@pytest.fixture
def local_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DEPLOYER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DEPLOYER_STRATEGIES", "local")
    return tmp_path


def test_env_file_reaches_the_solution_and_env_wins(local_home: Path) -> None:
    root = local_home / "sol"
    root.mkdir()
    (root / "main.py").write_text(ECHO_ENV)
    env_file = local_home / "prod.env"
    env_file.write_text('# settings\nexport API_TOKEN="from-file"\nMODE=file\n\n')
    runner = CliRunner()
    made = runner.invoke(main, ["deploy", str(root), "--strategy", "local", "--name", "e",
                                "--env-file", str(env_file), "--env", "MODE=flag"])  # fmt: skip
    assert made.exit_code == 0, made.output
    try:
        token = json.loads(runner.invoke(main, ["run", "e", '{"key": "API_TOKEN"}']).output)
        mode = json.loads(runner.invoke(main, ["run", "e", '{"key": "MODE"}']).output)
        assert token["output"] == {"API_TOKEN": "from-file"}
        assert mode["output"] == {"MODE": "flag"}
        listed = runner.invoke(main, ["ls", "--json"]).output
        assert "from-file" not in listed and '"API_TOKEN"' in listed  # names only
    finally:
        runner.invoke(main, ["rm", "e"])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("A=s3cr3t-VALUE\nthis is not a pair\n", "line 2: not KEY=VALUE"),
        ("A=s3cr3t-VALUE\nB\n", "line 2: B has no value"),
        ("GOOD=s3cr3t-VALUE\n'weird key'=s3cr3t-VALUE\n", "line 2"),
    ],
)
def test_malformed_env_files_name_the_line_and_never_a_value(tmp_path, text, problem) -> None:
    path = tmp_path / ".env"
    path.write_text(text)
    with pytest.raises(InputError, match=problem) as caught:
        read_env_file(path)
    assert "s3cr3t-VALUE" not in str(caught.value)


def test_a_missing_env_file_is_one_line_exit_2(local_home: Path) -> None:
    root = local_home / "sol"
    root.mkdir()
    (root / "main.py").write_text(ECHO_ENV)
    done = CliRunner().invoke(
        main, ["deploy", str(root), "--strategy", "local", "--env-file", "/nope/x.env"]
    )
    assert done.exit_code == 2 and "env file /nope/x.env does not exist" in done.output


def test_a_key_given_to_the_deployment_counts_as_set(plugins, home, make_solution, monkeypatch):
    monkeypatch.delenv("NEEDED_TOKEN", raising=False)
    entry = plugins.make("needy", extra_config="requirements:\n  env_all: [NEEDED_TOKEN]\n")
    factory = DeploymentFactory(StrategyRegistry([entry]))
    config = DeployConfig(solution=SolutionResult(code_path=make_solution()), strategy="needy")
    with pytest.raises(StrategyUnavailableError, match="NEEDED_TOKEN is not set"):
        factory.plan(config)
    plan = factory.plan(config.model_copy(update={"env": {"NEEDED_TOKEN": "s3cret"}}))
    assert plan.availability.available


def test_status_reports_live_state(local_home: Path) -> None:
    root = local_home / "sol"
    root.mkdir()
    (root / "main.py").write_text(ECHO_ENV)
    runner = CliRunner()
    assert runner.invoke(main, ["deploy", str(root), "--strategy", "local", "--name", "s",
                                "--option", "mode=inprocess"]).exit_code == 0  # fmt: skip
    try:
        shown = json.loads(runner.invoke(main, ["status", "s", "--json"]).output)
        assert shown["status"] == "running" and shown["healthy"] is True
        assert shown["strategy"] == "local" and shown["entrypoint"] == "main:predict"
        assert shown["uptime_seconds"] >= 0
        assert shown["details"] == {}  # the local runner adds nothing (Runner.details default)
        text = runner.invoke(main, ["status", "s"]).output
        assert "status:" in text and "running" in text
    finally:
        runner.invoke(main, ["rm", "s"])
    gone = runner.invoke(main, ["status", "s"])
    assert gone.exit_code == 4 and "no deployment named 's'" in gone.output


def test_strategies_name_is_a_short_help_and_version_lists_strategies(local_home: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(main, ["strategies", "local"])
    assert shown.exit_code == 0, shown.output
    assert "targets (--option mode=...): inprocess, process" in shown.output
    assert "port                 integer (>= 0, <= 65535) [default: 0]" in shown.output
    assert "available: yes" in shown.output
    detail = json.loads(runner.invoke(main, ["strategies", "local", "--json"]).output)
    assert detail["config"]["target_option"] == "mode"
    versions = runner.invoke(main, ["--version"])
    assert versions.exit_code == 0
    assert versions.output.startswith("deployer-core ")
    assert "  local: deployer-local " in versions.output


def test_logs_follow_streams_new_lines_and_ends_when_removed(local_home: Path) -> None:
    import subprocess
    import sys
    import time

    root = local_home / "sol"
    root.mkdir()
    (root / "main.py").write_text(ECHO_ENV)
    runner = CliRunner()
    assert (
        runner.invoke(main, ["deploy", str(root), "--strategy", "local", "--name", "f"]).exit_code
        == 0
    )
    follower = subprocess.Popen(
        [sys.executable, "-m", "deployer", "logs", "f", "-f"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(1.0)  # let it print the tail and start following
        for key in ("FIRST", "SECOND"):
            assert runner.invoke(main, ["run", "f", json.dumps({"key": key})]).exit_code == 0

        # the server buffers its access log: wait until both lines reach the file, then give
        # the follower (polling every 0.25 s) time to see them before the removal
        def both_logged() -> bool:
            logged = runner.invoke(main, ["logs", "f"]).output
            return logged.count('"POST /run HTTP/1.1" 200') >= 2

        wait_until(both_logged, interval=0.1)
        time.sleep(1.0)
    finally:
        runner.invoke(main, ["rm", "f"])  # removed while following: the follower ends
    out, err = follower.communicate(timeout=30)
    assert follower.returncode == 0, err
    assert out.count('"POST /run HTTP/1.1" 200') >= 2  # the server's access log, live
    assert "deployment f was removed" in err
