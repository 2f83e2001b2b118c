"""Which files of a solution are never copied, scanned or shipped: VCS data, virtual
environments, caches. One rule set used by the adapter's copy and the selector's scan."""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

from deployer.errors import AdaptationError

IGNORED_NAMES = {
    ".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".nox", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", "node_modules", ".ipynb_checkpoints", ".DS_Store",
    ".eggs", "dist", "build", ".langgraph_api",
}  # fmt: skip
IGNORED_PATTERNS = ("*.pyc", "*.pyo", "*.egg-info")


def ignored_names(directory: str, names: list[str]) -> set[str]:
    ignored = {n for n in names if n in IGNORED_NAMES}
    ignored |= {n for n in names for p in IGNORED_PATTERNS if fnmatch.fnmatch(n, p)}
    for name in names:  # any virtual environment, whatever its name
        if (Path(directory) / name / "pyvenv.cfg").is_file():
            ignored.add(name)
    return ignored


def copy_solution(source: Path, destination: Path) -> None:
    """Copy the solution without VCS data, virtual environments or caches."""
    try:
        shutil.copytree(source, destination, ignore=ignored_names, symlinks=True)
    except (OSError, shutil.Error) as exc:
        raise AdaptationError(f"could not copy {source}: {exc}") from None
