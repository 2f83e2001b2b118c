"""CLI conventions on the real command tree with the real local strategy: examples at the end
of every --help, completion of deployment and strategy names through click's completion
protocol, and the global -q/--quiet and -v/--verbose levels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from deployer.cli.main import main


@pytest.fixture
def local_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DEPLOYER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DEPLOYER_STRATEGIES", "local")
    return tmp_path


def commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))


def test_every_help_ends_with_examples() -> None:
    runner = CliRunner()
    for path, command in commands(main):
        if isinstance(command, click.Group) and path != ("cache",):
            continue
        shown = runner.invoke(main, [*path, "--help"])
        assert shown.exit_code == 0, (path, shown.output)
        tail = shown.output.rstrip().split("Examples:")
        assert len(tail) == 2, (path, shown.output)
        # examples end the help (an epilog) or the description (before "Options:")
        section = tail[1].split("\nOptions:")[0]
        examples = [line.strip() for line in section.splitlines() if line.strip()]
        assert 1 <= len(examples) <= 3 and all("deployer " in e for e in examples), path


def complete(words: str, home: Path) -> list[str]:
    """Ask the real `deployer` for completions, as bash's completion script does."""
    parts = words.split(" ")
    env = {**os.environ, "_DEPLOYER_COMPLETE": "bash_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(len(parts) - 1), "DEPLOYER_HOME": str(home)}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", "from deployer.cli.main import main; main(prog_name=\"deployer\")"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [line.split(",", 1)[1] for line in done.stdout.splitlines() if "," in line]


def deploy_quietly(runner: CliRunner, home: Path, *names: str) -> None:
    """Deploy one small solution under each name with -q, which prints just the name."""
    root = home / "sol"
    root.mkdir(exist_ok=True)
    (root / "main.py").write_text("def predict(name):\n    return name\n")
    for name in names:
        made = runner.invoke(
            main, ["-q", "deploy", str(root), "--strategy", "local", "--name", name]
        )
        assert made.exit_code == 0 and made.output == f"{name}\n", made.output  # -q: the name


def test_completion_of_deployment_and_strategy_names(local_home: Path) -> None:
    runner = CliRunner()
    deploy_quietly(runner, local_home, "alpha", "beta")
    try:
        home = local_home / "home"
        assert complete("deployer status a", home) == ["alpha"]
        assert sorted(complete("deployer rm ", home)) == ["alpha", "beta"]
        assert complete("deployer rollback b", home) == ["beta"]
        assert complete("deployer deploy . --strategy loc", home) == ["local"]
        assert "auto" in complete("deployer dev . --strategy ", home)
    finally:
        for name in ("alpha", "beta"):
            runner.invoke(main, ["rm", name])


def test_quiet_and_verbose(local_home: Path) -> None:
    runner = CliRunner()
    both = runner.invoke(main, ["-q", "-v", "ls"])
    assert both.exit_code == 2 and "exclude each other" in both.output
    root = local_home / "sol"
    root.mkdir()
    (root / "main.py").write_text("def predict(name):\n    return name\n")
    (root / ".env").write_text("TOKEN=1\n")  # left out with a note, which -q silences
    loud = runner.invoke(main, ["-v", "deploy", str(root), "--strategy", "local", "--name", "v"])
    try:
        assert loud.exit_code == 0, loud.output
        assert "... adapting sol for local" in loud.output and "... checking health" in loud.output
        assert "note: left out files that look like secrets: .env" in loud.output
        quiet = runner.invoke(
            main, ["-q", "deploy", str(root), "--strategy", "local", "--name", "v"]
        )
        assert quiet.exit_code == 0 and quiet.output == "v\n", quiet.output
    finally:
        runner.invoke(main, ["rm", "v"])
    missing = runner.invoke(main, ["-v", "status", "nope"])
    assert missing.exit_code == 4 and "cause:" not in missing.output


def test_stop_start_and_rm_take_several_names(local_home: Path) -> None:
    """Each name is tried in turn: one that does not exist is reported in one line, the others
    are still acted on, and the exit code is the first failure's."""
    runner = CliRunner()
    deploy_quietly(runner, local_home, "one", "two")
    try:
        stopped = runner.invoke(main, ["stop", "one", "ghost", "two", "one"])
        assert stopped.exit_code == 4, stopped.output  # the missing deployment's code
        assert stopped.output.count("stopped one") == 1 and "stopped two" in stopped.output
        assert "error: no deployment named 'ghost'" in stopped.output, stopped.output
        assert "Traceback" not in stopped.output
        listed = runner.invoke(main, ["ls", "--json"])
        states = {row["name"]: row["status"] for row in json.loads(listed.output)}
        assert states == {"one": "stopped", "two": "stopped"}, states
        started = runner.invoke(main, ["start", "one", "two"])
        assert started.exit_code == 0, started.output
        assert (
            "started one at http://127.0.0.1:" in started.output and "started two" in started.output
        )
        assert runner.invoke(main, ["run", "two", '{"name": "x"}']).exit_code == 0
        removed = runner.invoke(main, ["rm", "ghost", "one", "two"])
        assert removed.exit_code == 4 and "removed one" in removed.output, removed.output
        assert "removed two" in removed.output
        assert json.loads(runner.invoke(main, ["ls", "--json"]).output) == []
        assert runner.invoke(main, ["rm"]).exit_code == 2  # at least one name
    finally:
        runner.invoke(main, ["rm", "one", "two"])
