"""Putting the serving runtime into an adapted workspace as the top-level `deployer_runtime`.

The runtime runs in the solution's environment, where deployer is not installed, so its files
are copied rather than imported from here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from deployer.runtime.serving import PACKAGE_NAME, SPEC_FILE

if TYPE_CHECKING:
    from deployer.models import RunInterface

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
        origin = source.joinpath(name)
        destination.write_bytes(origin.read_bytes())
        if isinstance(origin, Path):
            carry_bytecode(origin, destination)
        written.append(f"{PACKAGE_NAME}/{name}")
    return written


def carry_bytecode(origin: Path, copy: Path) -> None:
    """Give `copy` the source's modification time and its compiled bytecode, when core has it.

    The runtime is copied afresh at every deploy and start, so without this the server
    compiles its ~120 KB of source each time it starts (~30 ms); a solution whose Python is
    the same version as deployer's loads the bytecode instead. The bytecode records the
    source's mtime and size: if they do not match, Python compiles the source as before.
    """
    try:
        compiled = Path(importlib.util.cache_from_source(str(origin)))
        beside = Path(importlib.util.cache_from_source(str(copy)))
    except (NotImplementedError, ValueError):  # no bytecode cache on this implementation
        return
    if not compiled.is_file():
        return
    stat = origin.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    beside.parent.mkdir(exist_ok=True)
    shutil.copyfile(compiled, beside)


def install_entry_loader(workspace: Path, run_interface: RunInterface) -> list[str]:
    """The runtime plus the entry spec (`deployer_entry.json`), for a strategy whose generated
    wrapper loads the entry point itself through `deployer_runtime.embedded` (BentoML,
    LangGraph, Modal): every entry kind then loads as it does on the local server."""
    written = install_serving_runtime(workspace)
    spec = json.dumps(run_interface.model_dump(mode="json"), indent=2) + "\n"
    (workspace / SPEC_FILE).write_text(spec, encoding="utf-8")
    return [*written, SPEC_FILE]
