"""mode=inprocess through the real CLI (each call its own process): the solution runs in its
adapted workspace, never in the caller's directory; its output goes to the deployment's log,
never into the JSON envelope; sys.exit() at import fails the deploy; the run timeout stops a
call that overruns."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from deployer.testing import CliResult, DeployerCli, tree_hash

WRITER = """\
from pathlib import Path

Path("imported.txt").write_text("written at import\\n")

def predict(name="x"):
    Path("called.txt").write_text(name)
    return {"cwd": str(Path.cwd())}
"""
CHATTY = """\
import os, sys

print("hello from import")

def predict(name="x"):
    print("printed during the call", name)
    print("to stderr", file=sys.stderr)
    os.system("echo from a subprocess")
    return {"hi": name}
"""


@pytest.fixture
def local(cli: DeployerCli) -> DeployerCli:
    cli.env["DEPLOYER_STRATEGIES"] = "local"
    return cli


def solution(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.py").write_text(text)
    return root


def deploy_inprocess(cli: DeployerCli, root: Path, name: str, *extra: str) -> CliResult:
    return cli("deploy", str(root), "--strategy", "local", "--name", name,
               "--option", "mode=inprocess", *extra)  # fmt: skip


def run_from(cli: DeployerCli, cwd: Path, *args: str) -> CliResult:
    """`deployer run` started from inside `cwd`, as a user in their repository would."""
    return cli(*args, cwd=cwd)


def one_line_error(result: CliResult) -> str:
    assert result.code != 0, (result.out, result.err)
    assert "Traceback" not in result.err and "Traceback" not in result.out
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert lines and lines[0].startswith("error:"), lines
    return result.err


def test_calls_run_in_the_workspace_not_in_the_callers_repository(
    local: DeployerCli, tmp_path
) -> None:
    root = solution(tmp_path / "repo", WRITER)
    before = tree_hash(root)
    made = run_from(local, root, "deploy", ".", "--strategy", "local", "--name", "w",
                    "--option", "mode=inprocess")  # fmt: skip
    assert made.code == 0, made.err
    done = run_from(local, root, "run", "w", '{"name": "ada"}')
    assert done.code == 0, done.err
    workspace = Path(json.loads(done.out)["output"]["cwd"])
    assert tree_hash(root) == before  # the original repository is untouched
    assert workspace != root and (workspace / "called.txt").read_text() == "ada"
    assert (workspace / "imported.txt").exists()
    assert local.home in workspace.parents


def test_print_output_goes_to_the_log_not_into_the_envelope(
    local: DeployerCli, tmp_path: Path
) -> None:
    made = deploy_inprocess(local, solution(tmp_path / "sol", CHATTY), "p")
    assert made.code == 0, made.err
    assert "hello from import" not in made.out + made.err
    done = local("run", "p", '{"name": "ada"}')
    assert done.code == 0, done.err
    assert json.loads(done.out) == {"status": "success", "output": {"hi": "ada"}}  # only that
    assert done.err == ""
    logs = local("logs", "p")
    assert logs.code == 0, logs.err
    for text in ("hello from import", "printed during the call ada", "to stderr",
                 "from a subprocess"):  # fmt: skip
        assert text in logs.out, logs.out


def test_sys_exit_at_import_fails_the_deploy_in_one_line(
    local: DeployerCli, tmp_path: Path
) -> None:
    for code in ("0", "3", "'bye'"):
        root = solution(tmp_path / f"exit{len(code)}", f"import sys\nsys.exit({code})\n"
                        "def predict():\n    return 1\n")  # fmt: skip
        done = deploy_inprocess(local, root, "e")
        assert "called sys.exit" in one_line_error(done), done.err
        assert "deployed" not in done.out
    assert local("ls", "--json").json() == []  # nothing half-made is left


def test_the_run_timeout_stops_an_overrunning_call(local: DeployerCli, tmp_path: Path) -> None:
    text = "import time\n\ndef predict(seconds=0):\n    time.sleep(seconds)\n    return 'done'\n"
    made = deploy_inprocess(local, solution(tmp_path / "sol", text), "t", "--run-timeout", "1")
    assert made.code == 0, made.err
    slow = local("run", "t", '{"seconds": 120}', timeout=60)  # answered long before 120 s
    assert slow.code == 1
    envelope = json.loads(slow.out)
    assert envelope["status"] == "error" and "run timeout (1s)" in envelope["error"], envelope
    assert "it was stopped" in envelope["error"]
    quick = local("run", "t", '{"seconds": 0}')
    assert json.loads(quick.out) == {"status": "success", "output": "done"}


def test_python_api_restores_the_callers_cwd_and_streams(tmp_path, monkeypatch, capfd) -> None:
    import deployer

    monkeypatch.setenv("DEPLOYER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DEPLOYER_STRATEGIES", "local")
    root = solution(tmp_path / "repo", WRITER)
    monkeypatch.chdir(root)
    before = tree_hash(root)
    stdout = sys.stdout
    with deployer.deploy(root, strategy="local", mode="inprocess", name="api") as software:
        result = software.run({"name": "x"})
        assert result["status"] == "success", result
        assert Path(result["output"]["cwd"]) != root
    assert Path(os.getcwd()) == root and sys.stdout is stdout
    assert tree_hash(root) == before
    print("after the call")
    assert "after the call" in capfd.readouterr().out  # fd 1 was given back
