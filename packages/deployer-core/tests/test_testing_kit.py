"""deployer.testing's DeployerCli and wait_until, the helpers end-to-end suites share: the
command really runs as its own process in the private home with the environment asked for,
and the poll answers whether the condition came true within its limit."""

from __future__ import annotations

import dataclasses
import subprocess
import threading
from pathlib import Path

import pytest

import deployer.testing
from deployer.testing import CliResult, DeployerCli, wait_until


def names(result: CliResult) -> list[str]:
    assert result.code == 0, result.err
    return [row["name"] for row in result.json()]


def test_the_kit_exports_the_helpers() -> None:
    for name in ("CliResult", "DeployerCli", "wait_until"):
        assert name in deployer.testing.__all__
    assert deployer.testing.DeployerCli is DeployerCli


def test_version_runs_in_its_own_process(tmp_path: Path) -> None:
    cli = DeployerCli(tmp_path / "home")
    result = cli("--version")
    assert result.code == 0, result.err
    assert result.out.splitlines()[0].startswith("deployer-core ")
    assert "local: deployer-local" in result.out  # the installed strategies, found by the child


def test_the_child_gets_the_private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOYER_HOME", str(tmp_path / "the-users-home"))
    home = tmp_path / "private"
    cli = DeployerCli(home)
    assert cli.home == home and cli.env["DEPLOYER_HOME"] == str(home)
    assert cli("ls", "--json").json() == []
    assert (home / "state.db").is_file()  # the child's state store went to the private home
    assert not (tmp_path / "the-users-home").exists()


def test_a_failing_command_returns_its_code_and_error_line(tmp_path: Path) -> None:
    result = DeployerCli(tmp_path / "home")("rm", "nope")
    assert result.code == 4
    assert result.err.splitlines()[0] == "error: no deployment named 'nope'"
    assert result.out == ""


def test_unset_removes_an_inherited_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOYER_STRATEGIES", "no-such-strategy")  # the child lists nothing
    kept = DeployerCli(tmp_path / "kept", unset=())
    assert names(kept("strategies", "--json")) == []
    default = DeployerCli(tmp_path / "default")  # DEPLOYER_STRATEGIES is unset by default
    assert "DEPLOYER_STRATEGIES" not in default.env
    assert "local" in names(default("strategies", "--json"))


def test_env_adds_variables_even_ones_unset_from_the_inheritance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOYER_STRATEGIES", "no-such-strategy")
    cli = DeployerCli(tmp_path / "home", env={"DEPLOYER_STRATEGIES": "local"})
    assert names(cli("strategies", "--json")) == ["local"]


def test_a_change_to_env_reaches_the_next_call(tmp_path: Path) -> None:
    cli = DeployerCli(tmp_path / "home")
    assert "local" in names(cli("strategies", "--json"))
    cli.env["DEPLOYER_STRATEGIES"] = "no-such-strategy"
    assert names(cli("strategies", "--json")) == []


def test_popen_starts_the_command_with_the_same_environment(tmp_path: Path) -> None:
    cli = DeployerCli(tmp_path / "home", env={"DEPLOYER_STRATEGIES": "local"})
    proc = cli.popen("strategies", "--json", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert names(CliResult(proc.returncode, out, err)) == ["local"]  # text mode by default


def test_stdin_reaches_the_command(tmp_path: Path) -> None:
    # `run` without an input argument reads it from stdin, before it looks the name up
    cli = DeployerCli(tmp_path / "home")
    bad = cli("run", "nope", stdin="{not json")
    assert bad.code == 2
    assert bad.err.startswith("error: input is not valid JSON: Expecting property name")
    good = cli("run", "nope", stdin="{}")
    assert good.code == 4 and good.err.startswith("error: no deployment named 'nope'")


def test_the_result_is_frozen_and_parses_its_output() -> None:
    result = CliResult(0, '{"status": "success", "output": 3}\n', "")
    assert result.json() == {"status": "success", "output": 3}
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.code = 1  # type: ignore[misc]


def test_wait_until_sees_a_condition_come_true_in_another_thread() -> None:
    done = threading.Event()
    timer = threading.Timer(0.2, done.set)
    timer.start()
    try:
        assert wait_until(done.is_set, limit=30.0)
    finally:
        timer.cancel()


def test_wait_until_polls_until_the_condition_holds() -> None:
    answers = iter([False, False, False, True])
    calls: list[int] = []

    def condition() -> bool:
        calls.append(1)
        return next(answers)

    assert wait_until(condition, limit=30.0, interval=0.001)
    assert len(calls) == 4  # checked again after each false answer, not once more after true


def test_wait_until_gives_up_after_its_limit() -> None:
    calls: list[int] = []

    def never() -> bool:
        calls.append(1)
        return False

    assert wait_until(never, limit=0.2, interval=0.01) is False
    assert len(calls) >= 2  # polled, and checked once more at the limit
