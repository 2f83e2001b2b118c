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


def _check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise StateError(f"{name!r} is not a valid deployment name")


def deployment_dir(name: str) -> Path:
    """Per-deployment runtime files: logs, pid files, the env file. The name is checked, so
    no record (tampered or not) can make this a path outside the home."""
    _check_name(name)
    path = deployer_home() / "deployments" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def version_dir(name: str, version: int) -> Path:
    """Runtime files of one version: version 1 keeps the deployment's own directory (records
    written before versions existed point there), later ones get a sibling tree of their own."""
    if version <= 1:
        return deployment_dir(name)
    path = versions_root(name) / str(int(version))
    path.mkdir(parents=True, exist_ok=True)
    return path


def versions_root(name: str) -> Path:
    """Where versions 2 and later of deployment `name` keep their runtime files."""
    _check_name(name)
    return deployer_home() / "versions" / name


def failed_dir(name: str) -> Path:
    """The logs of the last failed attempt of deployment `name`, kept after it is undone."""
    _check_name(name)
    return deployer_home() / "failed" / name


def inside_home(path: Path) -> bool:
    """Whether a path (from a record, say) lies inside deployer's home: the only place
    deployer ever deletes anything."""
    return Path(path).resolve().is_relative_to(deployer_home().resolve())


def cache_dir(kind: str) -> Path:
    path = deployer_home() / "cache" / kind
    path.mkdir(parents=True, exist_ok=True)
    return path
