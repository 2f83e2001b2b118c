"""Dev mode's pieces: which changes count (core's ignore rules), how errors are shown, and
the one line when the extra is not installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from deployer.deployment.dev import DevLoop, first_lines, shipped_filter
from deployer.errors import DeployFailedError, ExtraNotInstalledError
from deployer.models import DeployConfig, SolutionResult
from deployer.repo.fingerprint import source_hash


def test_only_files_a_deploy_ships_count_as_changes(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("scratch/\n*.log\n")
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / "pkg").mkdir()
    keep = shipped_filter(tmp_path, [])
    assert keep(None, str(tmp_path / "main.py"))
    assert keep(None, str(tmp_path / "pkg" / "model.py"))
    assert not keep(None, str(tmp_path / "pkg"))  # a directory itself
    for ignored in ("scratch/a.txt", "run.log", "__pycache__/m.pyc", ".git/HEAD",
                    "env/lib/site.py", ".env", "keys/id_rsa"):  # fmt: skip
        assert not keep(None, str(tmp_path / ignored)), ignored
    assert not keep(None, "/somewhere/else/main.py")
    assert shipped_filter(tmp_path, [".env"])(None, str(tmp_path / ".env"))  # --include


def test_source_hash_follows_shipped_files_only(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("x = 1\n")
    first = source_hash(tmp_path)
    (tmp_path / ".env").write_text("TOKEN=1\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "m.pyc").write_bytes(b"\0")
    assert source_hash(tmp_path) == first
    (tmp_path / "main.py").write_text("x = 2\n")
    assert source_hash(tmp_path) != first
    assert source_hash(tmp_path, [".env"]) != source_hash(tmp_path)


def test_first_lines_cut_long_errors_and_keep_the_hint() -> None:
    error = DeployFailedError("\n".join(f"line {i}" for i in range(9)), hint="look at the log")
    shown = first_lines(error, 3)
    assert shown == "line 0\nline 1\nline 2\n  ...\nhint: look at the log"


def test_a_missing_watchfiles_is_one_line_with_the_extra(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "watchfiles", None)  # as if the extra were not installed
    (tmp_path / "main.py").write_text("def predict(x):\n    return x\n")
    loop = DevLoop(DeployConfig(solution=SolutionResult(code_path=tmp_path), strategy="local"))
    with pytest.raises(ExtraNotInstalledError) as info:
        loop.run()
    assert info.value.hint == "pip install 'deployer-core[dev]'"
    assert not loop.made
