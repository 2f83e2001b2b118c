"""The Python that runs `bentoml serve` for a deployment.

A solution without dependencies is served by deployer's own interpreter, which has bentoml
(a dependency of this package). A solution with a requirements.txt or `[project]
dependencies` gets a layered virtual environment from core (`deployer.runtime.venvs`): its own
site-packages first, then deployer's, so bentoml and whatever is already installed are
shared and pip installs only what is missing or pinned differently.
"""

from __future__ import annotations

import sys
from pathlib import Path

from deployer.runtime.venvs import ensure_venv, read_dependencies, site_dirs, venv_python


def serving_python(workspace: Path, log_path: Path) -> Path:
    """The interpreter to run `python -m bentoml serve` with, building its environment once."""
    if read_dependencies(workspace).empty:
        return Path(sys.executable)
    base = getattr(sys, "_base_executable", sys.executable)
    venv = ensure_venv(workspace, base, log_path, inherit_site=site_dirs(), cache="bentoml-envs")
    return venv_python(venv)
