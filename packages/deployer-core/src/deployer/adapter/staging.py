"""Staging directories: where a solution is copied and adapted before the atomic rename into
its workspace. Each records its owner (pid and creation time), so one left by a killed deploy
is recognised as stale and removed (at the next deploy, and by `deployer doctor --fix`)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from deployer.runtime.processes import is_alive, pid_start_time

OWNER_FILE = ".deployer-owner"


def mark_staging_owner(staging: Path) -> None:
    owner = {"pid": os.getpid(), "started": pid_start_time(os.getpid())}
    (staging / OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")


def stale_staging(workspaces: Path) -> list[Path]:
    """Staging directories whose owner is gone (or that never recorded one)."""
    stale = []
    try:
        entries = list(workspaces.iterdir())
    except OSError:
        return stale
    for entry in entries:
        if not (entry.name.startswith(".") and entry.is_dir()):
            continue
        try:
            owner = json.loads((entry / OWNER_FILE).read_text(encoding="utf-8"))
            alive = is_alive(int(owner["pid"]), owner.get("started"))
        except (OSError, ValueError, KeyError, TypeError):
            alive = False
        if not alive:
            stale.append(entry)
    return stale


def sweep_stale_staging(workspaces: Path) -> list[Path]:
    """Remove stale staging directories; returns what was removed."""
    removed = stale_staging(workspaces)
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed
