"""The solution's dependencies for `langgraph dev`, layered on the environment that runs it.

`langgraph dev` imports the graph into its own interpreter, so the solution's requirements
must be importable there. Installing langgraph-api into a fresh environment per solution
would take minutes; instead core's `deployer.runtime.venvs` makes an *overlay*: a venv whose
site-packages holds the solution's packages, with the launcher's site-packages (where
langgraph-cli[inmem] lives) appended by a .pth file. The overlay's own packages come first, so
a solution's pins win; requirements the launcher already satisfies need no overlay at all.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from deployer.plugin import (
    Dependencies,
    ensure_venv,
    is_usable,
    read_dependencies,
    site_dirs,
    venv_python,
)

__all__ = [
    "already_satisfied",
    "ensure_overlay",
    "is_usable",
    "overlay_python",
    "read_dependencies",
]

_SATISFIED_PROBE = """
import json, sys
from importlib.metadata import PackageNotFoundError, version
try:
    from packaging.requirements import Requirement
except ImportError:
    print("false"); sys.exit()
for line in json.loads(sys.argv[1]):
    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate():
        continue
    try:
        found = version(req.name)
    except PackageNotFoundError:
        print("false"); sys.exit()
    if req.extras or (req.specifier and not req.specifier.contains(found, prereleases=True)):
        print("false"); sys.exit()
print("true")
"""


def already_satisfied(python: str, deps: Dependencies) -> bool:
    """True when the launcher itself has every requirement (e.g. only `langgraph`), so no
    overlay is needed. Requirements with pip options, local paths or extras never count."""
    if deps.local or any(line.startswith("-") for line in deps.normalised):
        return False
    try:
        out = subprocess.run(
            [python, "-c", _SATISFIED_PROBE, json.dumps(deps.normalised)],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return out.strip() == "true"


def overlay_python(overlay: Path) -> Path:
    return venv_python(overlay)


def ensure_overlay(workspace: Path, python: str, log_path: Path) -> Path | None:
    """The overlay with the workspace's requirements, or None when none is needed."""
    deps = read_dependencies(workspace)
    if deps.empty:
        return None
    if already_satisfied(python, deps):
        with log_path.open("a", encoding="utf-8") as log:
            log.write(f"every requirement is already installed where {python} runs\n")
        return None
    return ensure_venv(
        workspace, python, log_path, inherit_site=site_dirs(python), cache="langgraph-overlays"
    )
