"""Where deployer keeps its files: one home directory, overridable with DEPLOYER_HOME."""

from __future__ import annotations

import os
from pathlib import Path

from deployer.errors import StateError
from deployer.models import NAME_PATTERN


def deployer_home() -> Path:
    """The state directory (platformdirs' user state dir unless DEPLOYER_HOME is set)."""
    override = os.environ.get("DEPLOYER_HOME")
    if override:
        home = Path(override).expanduser()
    else:
        import platformdirs

        home = Path(platformdirs.user_state_dir("deployer", appauthor=False))
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateError(
            f"deployer's home {home} cannot be created: {exc.strerror or exc}",
            hint="set DEPLOYER_HOME to a directory you can write",
        ) from None
    if not os.access(home, os.W_OK | os.X_OK):
        raise StateError(
            f"deployer's home {home} is not writable",
            hint="set DEPLOYER_HOME to a directory you can write",
        )
    return home


def workspaces_dir() -> Path:
    path = deployer_home() / "workspaces"
    path.mkdir(parents=True, exist_ok=True)
    return path


def deployment_dir(name: str) -> Path:
    """Per-deployment runtime files: logs, pid files, the env file. The name is checked, so
    no record (tampered or not) can make this a path outside the home."""
    if not NAME_PATTERN.fullmatch(name):
        raise StateError(f"{name!r} is not a valid deployment name")
    path = deployer_home() / "deployments" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def inside_home(path: Path) -> bool:
    """Whether a path (from a record, say) lies inside deployer's home: the only place
    deployer ever deletes anything."""
    return Path(path).resolve().is_relative_to(deployer_home().resolve())


def cache_dir(kind: str) -> Path:
    path = deployer_home() / "cache" / kind
    path.mkdir(parents=True, exist_ok=True)
    return path
