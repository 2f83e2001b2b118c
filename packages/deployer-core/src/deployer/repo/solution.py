"""The solution directory as given: checked once, never written to."""

from __future__ import annotations

from pathlib import Path

from deployer.errors import SolutionError


def check_solution_path(path: Path) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise SolutionError(f"solution path {path} does not exist")
    if not path.is_dir():
        raise SolutionError(f"solution path {path} is not a directory")
    return path.resolve()
