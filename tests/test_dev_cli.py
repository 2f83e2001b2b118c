"""`deployer dev` as a user runs it: a real subprocess watching a real directory with
watchfiles, a real local server per version; files are edited and the loop redeploys."""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from deployer.testing import DeployerCli

pytest.importorskip("watchfiles", reason="deployer dev needs the extra deployer-core[dev]")


class DevProcess:
    """`deployer dev` in the background, its output lines readable with a timeout."""

    def __init__(self, cli: DeployerCli, *args: str) -> None:
        self.proc = cli.popen("dev", *args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} never came; output so far: {self.seen}")

    def finish(self, timeout: float = 60.0) -> int:
        code = self.proc.wait(timeout)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def write(root: Path, reply: str, broken: bool = False) -> None:
    colon = "" if broken else ":"
    (root / "main.py").write_text(f"def predict(name){colon}\n    return {{'{reply}': name}}\n")


def test_dev_redeploys_on_save_reports_errors_and_cleans_up(
    cli: DeployerCli, tmp_path: Path
) -> None:
    cli.env["DEPLOYER_STRATEGIES"] = "local"
    root = tmp_path / "sol"
    root.mkdir()
    (root / ".gitignore").write_text("scratch/\n")
    write(root, "v1")
    dev = DevProcess(cli, str(root), "--name", "dv")
    try:
        dev.wait_for("version 1 of dv is live")
        dev.wait_for("watching")
        assert cli("run", "dv", '{"name": "a"}').json()["output"] == {"v1": "a"}
        write(root, "v2")
        assert "(healthy)" in dev.wait_for("version 2 of dv is live")
        assert cli("run", "dv", '{"name": "b"}').json()["output"] == {"v2": "b"}
        # files a deploy never ships do not redeploy: ignored by .gitignore, caches, secrets
        (root / "scratch").mkdir()
        (root / "scratch" / "notes.txt").write_text("x")
        (root / "__pycache__").mkdir()
        (root / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"x")
        (root / ".env").write_text("TOKEN=1\n")
        time.sleep(1.5)
        write(root, "v3", broken=True)
        error = dev.wait_for("error: version 3 of 'dv' failed, so dv stays on version 2")
        assert "syntax error" in error or "main.py" in error
        assert cli("run", "dv", '{"name": "c"}').json()["output"] == {"v2": "c"}
        write(root, "v4")
        dev.wait_for("version 4 of dv is live")  # 4, not more: the ignored files made none
        assert cli("run", "dv", '{"name": "d"}').json()["output"] == {"v4": "d"}
        dev.proc.send_signal(signal.SIGINT)
        assert dev.finish() == 0
    finally:
        dev.kill()
    assert "removed dv" in dev.seen
    assert not any("changed: scratch" in line or "__pycache__" in line for line in dev.seen)
    assert cli("ls", "--json").json() == []
    assert not list((cli.home / "workspaces").iterdir())


def test_dev_on_a_path_that_stops_existing_stops_and_removes(
    cli: DeployerCli, tmp_path: Path
) -> None:
    cli.env["DEPLOYER_STRATEGIES"] = "local"
    root = tmp_path / "gone"
    root.mkdir()
    write(root, "v1")
    dev = DevProcess(cli, str(root), "--name", "gone")
    try:
        dev.wait_for("watching")
        shutil.rmtree(root)
        line = dev.wait_for("no longer exists")
        assert line.startswith("error: ") and str(root) in line
        assert dev.finish() == 2
    finally:
        dev.kill()
    assert "removed gone" in dev.seen
    assert not any("Traceback" in line for line in dev.seen)
    assert cli("ls", "--json").json() == []


def test_dev_on_a_missing_path_is_one_line(cli: DeployerCli, tmp_path: Path) -> None:
    done = cli("dev", str(tmp_path / "nowhere"))
    assert done.code == 2 and done.err.startswith("error: ") and "Traceback" not in done.err
