"""Where deployer keeps its files: one home directory, overridable with DEPLOYER_HOME."""

from __future__ import annotations

import os
from pathlib import Path


def deployer_home() -> Path:
    """The state directory (platformdirs' user state dir unless DEPLOYER_HOME is set)."""
    override = os.environ.get("DEPLOYER_HOME")
    if override:
        home = Path(override).expanduser()
    else:
        import platformdirs

        home = Path(platformdirs.user_state_dir("deployer", appauthor=False))
    home.mkdir(parents=True, exist_ok=True)
    return home


def workspaces_dir() -> Path:
    path = deployer_home() / "workspaces"
    path.mkdir(parents=True, exist_ok=True)
    return path


def deployment_dir(name: str) -> Path:
    """Per-deployment runtime files: logs, pid files, the env file."""
    path = deployer_home() / "deployments" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir(kind: str) -> Path:
    path = deployer_home() / "cache" / kind
    path.mkdir(parents=True, exist_ok=True)
    return path
