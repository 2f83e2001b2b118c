"""The cached environments under `<home>/cache`: listed with their size and users, pruned.

An environment is in use while a recorded deployment's runner state names a path inside it
(local's `venv`, bentoml's `python`, ...): those are never removed. A build that never
completed (killed mid-install) is removed by `prune` whatever its age, unless a build of it
holds the lock right now.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer.deployment.state import StateStore
from deployer.paths import deployer_home
from deployer.runtime.venvs import COMPLETE_MARKER, build_lock_held

SECONDS_PER_DAY = 86_400


@dataclass
class CacheEntry:
    """One cached environment."""

    kind: str
    path: Path
    size_bytes: int
    last_used: float
    complete: bool
    used_by: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "last_used": self.last_used,
            "complete": self.complete,
            "used_by": self.used_by,
        }


def _size(path: Path) -> int:
    total = 0
    for directory, _, names in os.walk(path):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_size
    return total


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []


def _users(store: StateStore) -> dict[str, list[str]]:
    """Each path a recorded deployment's state names, with the deployments naming it."""
    users: dict[str, list[str]] = {}
    for info in [*store.list(), *store.version_infos()]:  # a kept version counts as a user
        for text in _strings(info.runner_state):
            named = users.setdefault(text, [])
            if info.name not in named:
                named.append(info.name)
    return users


def list_cache(store: StateStore | None = None) -> list[CacheEntry]:
    """Every cached environment, largest first."""
    store = store or StateStore()
    root = deployer_home() / "cache"
    users = _users(store)
    entries: list[CacheEntry] = []
    if not root.is_dir():
        return entries
    for kind_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "locks"):
        for path in sorted(p for p in kind_dir.iterdir() if (p / "pyvenv.cfg").is_file()):
            marker = path / COMPLETE_MARKER
            prefix = f"{path}{os.sep}"
            used_by = sorted(
                {
                    name
                    for text, names in users.items()
                    if text.startswith(prefix) or text == str(path)
                    for name in names
                }
            )
            entries.append(
                CacheEntry(
                    kind=kind_dir.name,
                    path=path,
                    size_bytes=_size(path),
                    last_used=(marker if marker.is_file() else path).stat().st_mtime,
                    complete=marker.is_file(),
                    used_by=used_by,
                )
            )
    return sorted(entries, key=lambda e: e.size_bytes, reverse=True)


def prune(
    older_than_days: float | None = None, store: StateStore | None = None
) -> list[CacheEntry]:
    """Remove environments no recorded deployment uses (and, with `older_than_days`, only
    those unused for that long); incomplete builds go whatever their age. Returns what was
    removed."""
    now = time.time()
    removed: list[CacheEntry] = []
    for entry in list_cache(store):
        if entry.used_by:
            continue
        recent = older_than_days is not None and (
            now - entry.last_used < older_than_days * SECONDS_PER_DAY
        )
        if entry.complete and recent:
            continue
        if not entry.complete and build_lock_held(entry.path):
            continue  # being built right now
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry)
    return removed
