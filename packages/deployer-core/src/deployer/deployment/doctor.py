"""`deployer doctor`: what deployer left behind, found and (with `fix`) cleaned up.

- orphan servers: processes started for a deployment (marked with DEPLOYER_DEPLOYMENT and this
  DEPLOYER_HOME in their environment) whose record is gone or names another process;
- stuck records: still `deploying`, but the process making them is dead (a killed deploy);
- stale staging directories of killed copies, workspaces no record points at;
- cached environments whose build never completed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from deployer.adapter.staging import stale_staging
from deployer.deployment.cache import list_cache
from deployer.deployment.factory import DeploymentFactory, owner_alive
from deployer.deployment.software import remove_version_files
from deployer.errors import DeployerError
from deployer.paths import deployer_home, workspaces_dir
from deployer.runtime.processes import pid_start_time, terminate
from deployer.runtime.server import DEPLOYMENT_ENV, marked_processes
from deployer.runtime.venvs import build_lock_held


@dataclass
class Finding:
    """One thing left behind, and what `--fix` does about it."""

    kind: str
    what: str
    action: str
    fixed: bool = False
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "what": self.what,
            "action": self.action,
            "fixed": self.fixed,
            "error": self.error,
        }


def _recorded_pids(factory: DeploymentFactory) -> dict[str, set[int]]:
    recorded: dict[str, set[int]] = {}
    # the live records and every version's (one being deployed beside the live one counts)
    for info in [*factory.store.list(), *factory.store.version_infos()]:
        pids = {info.runner_state.get("pid"), info.runner_state.get("pgid")}
        recorded.setdefault(info.name, set()).update(int(p) for p in pids if isinstance(p, int))
    return recorded


def orphan_servers(factory: DeploymentFactory) -> list[psutil.Process]:
    """The top process of each tree of this home's deployment processes that no record
    accounts for (its children go with it when it is stopped)."""
    recorded = _recorded_pids(factory)
    candidates: dict[int, psutil.Process] = {}
    for process in marked_processes(str(deployer_home())):
        name = _environ(process).get(DEPLOYMENT_ENV, "")
        try:
            group = os.getpgid(process.pid)
        except OSError:
            continue
        if recorded.get(name, set()) & {process.pid, group}:
            continue
        candidates[process.pid] = process
    roots = []
    for process in candidates.values():
        try:
            parent = process.ppid()
        except psutil.Error:
            continue
        if parent not in candidates:
            roots.append(process)
    return roots


def examine(factory: DeploymentFactory | None = None, fix: bool = False) -> list[Finding]:
    factory = factory or DeploymentFactory()
    findings: list[Finding] = []

    for process in orphan_servers(factory):
        finding = Finding(
            "orphan server",
            f"pid {process.pid} ({' '.join(_cmdline(process))[:80]}) of deployment "
            f"{_environ(process).get(DEPLOYMENT_ENV)!r}",
            "stop it and its children",
        )
        if fix:
            try:
                group = os.getpgid(process.pid)
                terminate(process.pid, group, pid_start_time(process.pid), grace=2.0)
                finding.fixed = True
            except (OSError, psutil.Error) as exc:
                finding.error = str(exc)
        findings.append(finding)

    for info in factory.store.list():
        if info.status != "deploying" or owner_alive(info.owner):
            continue
        finding = Finding(
            "stuck record",
            f"{info.name} (its deploy, process {info.owner.pid if info.owner else '?'}, is gone)",
            "stop what it started and remove it",
        )
        if fix:
            try:
                factory.remove(info.name, force=True)
                finding.fixed = True
            except DeployerError as exc:
                finding.error = exc.message
        findings.append(finding)

    for info in factory.store.version_infos():  # a redeploy or rollback killed midway
        if info.owner is None or owner_alive(info.owner):
            continue
        finding = Finding(
            "stuck version",
            f"{info.name} version {info.version} (its deploy, process {info.owner.pid}, is gone)",
            "stop what it started and remove its files",
        )
        if fix:
            try:
                with contextlib.suppress(Exception):  # whatever it started, stopped if it can be
                    factory.runner_for(info).remove()
                remove_version_files(info)
                info.owner = None
                factory.store.save_version(info, "failed", "its deploy was interrupted")
                finding.fixed = True
            except DeployerError as exc:
                finding.error = exc.message
        findings.append(finding)

    for path in stale_staging(workspaces_dir()):
        findings.append(_remove_dir("stale staging", path, fix))

    kept = [*factory.store.list(), *factory.store.version_infos()]  # old versions are kept
    referenced = {str(info.adapted_path) for info in kept if info.adapted_path is not None}
    for path in sorted(workspaces_dir().iterdir()):
        if path.name.startswith(".") or not path.is_dir() or str(path) in referenced:
            continue
        findings.append(_remove_dir("orphan workspace", path, fix))

    for entry in list_cache(factory.store):
        if entry.complete or entry.used_by or build_lock_held(entry.path):
            continue
        findings.append(_remove_dir("half-built environment", entry.path, fix))
    return findings


def _remove_dir(kind: str, path: Path, fix: bool) -> Finding:
    finding = Finding(kind, str(path), "remove it")
    if fix:
        shutil.rmtree(path, ignore_errors=True)
        finding.fixed = not path.exists()
    return finding


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return ["?"]


def _environ(process: psutil.Process) -> dict[str, str]:
    try:
        return process.environ()
    except psutil.Error:
        return {}
