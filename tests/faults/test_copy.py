"""The copy of a solution through the real CLI: an entry point that cannot be found is
reported on the source, read-only and before anything is copied, naming the user's path; a
large copy gets a note saying its size and what to add to .deployerignore."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from deployer.testing import CliResult, DeployerCli, tree_hash


@pytest.fixture
def local(cli: DeployerCli) -> DeployerCli:
    cli.env["DEPLOYER_STRATEGIES"] = "local"
    return cli


def one_line_error(result: CliResult) -> str:
    assert result.code != 0, (result.out, result.err)
    assert "Traceback" not in result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert lines and lines[0].startswith("error:"), lines
    return result.err


def test_no_entry_point_is_found_on_the_source_before_any_copy(
    local: DeployerCli, tmp_path
) -> None:
    root = tmp_path / "no-entry"
    root.mkdir()
    (root / "settings.py").write_text("VALUE = 1\n")
    os.mkfifo(root / "pipe")  # copying it would fail: proof that nothing was copied first
    before = tree_hash(root)
    for extra in ((), ("--entrypoint", "nosuch:predict"), ("--adapt", "templates")):
        done = local("deploy", str(root), "--strategy", "local", *extra)
        message = one_line_error(done)
        if "--entrypoint" not in extra:  # the user's path, not a staging directory
            assert str(root) in message, message
        assert "could not copy" not in message and "named pipe" not in message, message
        assert str(local.home) not in message, message
    assert "no entry point found" in local("deploy", str(root), "--strategy", "local").err
    assert tree_hash(root) == before
    assert local("ls", "--json").json() == []
    assert not any((local.home / "workspaces").glob("*")) if (
        local.home / "workspaces").exists() else True  # fmt: skip


def test_a_large_copy_says_its_size_and_what_to_ignore(local: DeployerCli, tmp_path: Path) -> None:
    root = tmp_path / "big"
    (root / "data").mkdir(parents=True)
    (root / "main.py").write_text("def predict(name='x'):\n    return {'hi': name}\n")
    (root / "data" / "blob.bin").write_bytes(os.urandom(3_000_000))
    local.env["DEPLOYER_COPY_WARN_MB"] = "1"
    made = local("deploy", str(root), "--strategy", "local", "--name", "big",
                 "--option", "mode=inprocess")  # fmt: skip
    assert made.code == 0, made.err
    note = [line for line in made.err.splitlines() if "copy of the solution" in line]
    assert note and "3.0 MB (over 1 MB)" in note[0] and "'data/'" in note[0], made.err
    assert ".deployerignore" in note[0]
    (root / ".deployerignore").write_text("data/\n")
    again = local("deploy", str(root), "--strategy", "local", "--name", "small",
                  "--option", "mode=inprocess", "--json")  # fmt: skip
    assert again.code == 0, again.err
    assert not any("copy of the solution" in n for n in json.loads(again.out)["left_out"])
