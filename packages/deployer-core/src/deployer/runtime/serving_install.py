"""Putting the serving runtime into an adapted workspace as the top-level `deployer_runtime`.

The runtime runs in the solution's environment, where deployer is not installed, so its files
are copied rather than imported from here.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from deployer.runtime.serving import PACKAGE_NAME

_SOURCE = "deployer.runtime.serving"


def serving_runtime_files() -> list[str]:
    """The runtime's module names (`server.py`, ...), sorted."""
    return sorted(
        entry.name
        for entry in resources.files(_SOURCE).iterdir()
        if entry.is_file() and entry.name.endswith(".py")
    )


def install_serving_runtime(workspace: Path) -> list[str]:
    """Copy the runtime into `workspace/deployer_runtime/`; the relative paths written.

    An existing copy is replaced file by file, so a workspace always runs this core's runtime.
    """
    target = workspace / PACKAGE_NAME
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise FileExistsError(f"{PACKAGE_NAME} in the workspace is not a directory")
    target.mkdir(parents=True, exist_ok=True)
    source = resources.files(_SOURCE)
    written = []
    for name in serving_runtime_files():
        destination = target / name
        destination.unlink(missing_ok=True)
        destination.write_bytes(source.joinpath(name).read_bytes())
        written.append(f"{PACKAGE_NAME}/{name}")
    return written
