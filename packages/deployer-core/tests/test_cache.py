"""`deployer cache ls/prune`: sizes and users of cached environments; pruning never removes
one a recorded deployment uses, and removes half-built ones."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from deployer.cli.main import main
from deployer.deployment.cache import list_cache, prune
from deployer.paths import cache_dir
from deployer.runtime.venvs import COMPLETE_MARKER, build_lock, ensure_venv


def solution(root: Path, requirement: str = "") -> Path:
    root.mkdir(parents=True)
    (root / "main.py").write_text("def predict(name):\n    return {'hi': name}\n")
    if requirement:
        (root / "requirements.txt").write_text(requirement + "\n")
    return root


def test_ls_and_prune_keep_what_a_deployment_uses(tmp_path, monkeypatch):
    monkeypatch.setenv("DEPLOYER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DEPLOYER_STRATEGIES", "local")
    runner = CliRunner()
    used = solution(tmp_path / "used")
    done = runner.invoke(main, ["deploy", str(used), "--strategy", "local", "--name", "kept"])
    assert done.exit_code == 0, done.output
    try:
        # another cache kind: same (empty) dependencies, a separate environment
        unused = ensure_venv(solution(tmp_path / "unused"), sys.executable, tmp_path / "log",
                             cache="other-venvs")  # fmt: skip
        half = cache_dir("venvs") / "half-built"
        (half / "bin").mkdir(parents=True)
        (half / "pyvenv.cfg").write_text("home = /usr\n")  # no completion marker: killed build
        listed = json.loads(runner.invoke(main, ["cache", "ls", "--json"]).output)
        by_path = {row["path"]: row for row in listed}
        assert by_path[str(half)]["complete"] is False
        kept = [row for row in listed if row["used_by"] == ["kept"]]
        assert len(kept) == 1 and kept[0]["size_bytes"] > 0
        assert by_path[str(unused)]["used_by"] == []
        table = runner.invoke(main, ["cache", "ls"]).output
        assert "kept" in table and "incomplete" in table and "3 environments" in table

        # --older-than spares the recent unused one, not the half-built one
        removed = runner.invoke(main, ["cache", "prune", "--older-than", "30", "--json"])
        assert [row["path"] for row in json.loads(removed.output)] == [str(half)]
        assert unused.exists()
        assert "removed 1 environments" in runner.invoke(main, ["cache", "prune"]).output
        assert not unused.exists() and Path(kept[0]["path"]).exists()
        assert runner.invoke(main, ["run", "kept", '{"name": "x"}']).exit_code == 0
    finally:
        runner.invoke(main, ["rm", "kept"])
    assert [entry.used_by for entry in list_cache()] == [[]]  # the record is gone: now unused


def test_an_old_unused_environment_goes_with_older_than(tmp_path, monkeypatch):
    monkeypatch.setenv("DEPLOYER_HOME", str(tmp_path / "home"))
    venv = ensure_venv(solution(tmp_path / "s", "# none\n"), sys.executable, tmp_path / "log")
    month_ago = time.time() - 31 * 86_400
    os.utime(venv / COMPLETE_MARKER, (month_ago, month_ago))
    assert [entry.path for entry in prune(30)] == [venv]


def test_a_build_in_progress_is_never_pruned(tmp_path, monkeypatch):
    monkeypatch.setenv("DEPLOYER_HOME", str(tmp_path / "home"))
    building = cache_dir("venvs") / "building"
    (building / "bin").mkdir(parents=True)
    (building / "pyvenv.cfg").write_text("home = /usr\n")
    import subprocess

    code = (
        "import time\nfrom pathlib import Path\nfrom deployer.runtime.venvs import build_lock\n"
        f"with build_lock(Path({str(building)!r})):\n"
        "    print('held', flush=True)\n    time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert prune() == [] and building.exists()
    finally:
        holder.kill()
        holder.wait()
    with build_lock(building):
        pass
    assert [entry.path for entry in prune()] == [building]
