"""The Python that runs `bentoml serve` for a deployment.

A solution without dependencies is served by deployer's own interpreter, which has bentoml
(a dependency of this package). A solution with a requirements.txt or `[project]
dependencies` gets a layered virtual environment: its own site-packages first, then deployer's
(added by a .pth file), so bentoml and whatever is already installed are shared, and pip
installs only what is missing or pinned differently. Environments are cached by the hash of
the interpreter and the dependency list, built in a temporary directory and renamed into place
only once the install succeeded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import uuid
from pathlib import Path

from deployer.errors import DeployFailedError
from deployer.paths import cache_dir
from deployer_bentoml.workspace import solution_dependencies

INSTALL_TIMEOUT = 1800.0
LAYER_FILE = "_deployer_bentoml_parent.pth"
_FAILED = re.compile(
    r"(?:No matching distribution found for|Could not find a version that satisfies the "
    r"requirement) (\S+)"
)


def parent_site_dirs() -> list[str]:
    """The site directories deployer's own interpreter uses (where bentoml is), in order."""
    found: list[str] = []
    for entry in sys.path:
        site_dir = entry.endswith(("site-packages", "dist-packages")) and os.path.isdir(entry)
        if site_dir and entry not in found:
            found.append(entry)
    return found


def dependency_list(workspace: Path) -> list[str]:
    """The solution's requirement lines, normalised, for the cache key and the install."""
    python = solution_dependencies(workspace)
    lines: list[str] = []
    if "requirements_txt" in python:
        text = (workspace / "requirements.txt").read_text(encoding="utf-8", errors="replace")
        for raw in text.splitlines():
            line = raw.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                lines.append(" ".join(line.split()))
    lines.extend(python.get("packages", []))
    return lines


def serving_python(workspace: Path, log_path: Path) -> Path:
    """The interpreter to run `python -m bentoml serve` with, building its environment once."""
    requirements = dependency_list(workspace)
    if not requirements:
        return Path(sys.executable)
    local = any(r.startswith(("-e", ".", "/", "file:")) or " @ file:" in r for r in requirements)
    key_data = {
        "python": os.path.realpath(sys.executable),
        "version": sys.version,
        "parent": parent_site_dirs(),
        "requirements": sorted(requirements),
        "workspace": str(workspace) if local else None,
    }
    key = hashlib.sha256(json.dumps(key_data, sort_keys=True).encode()).hexdigest()[:24]
    root = cache_dir("bentoml-envs")
    target = root / key
    if _usable(target):
        _append(log_path, f"reusing the cached environment {target}\n")
        return _python(target)
    shutil.rmtree(target, ignore_errors=True)
    staging = root / f".{key}-{uuid.uuid4().hex[:8]}"
    try:
        _create(staging, log_path)
        _install(staging, requirements, workspace, log_path)
        try:
            os.replace(staging, target)
        except OSError:
            if not _usable(target):  # not a concurrent build that won the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return _python(target)


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _usable(venv: Path) -> bool:
    return (venv / "pyvenv.cfg").is_file() and (venv / LAYER_FILE).is_file()


def _append(log_path: Path, text: str) -> None:
    with log_path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def _run(command: list[str], log_path: Path, cwd: Path) -> int:
    _append(log_path, f"$ {' '.join(command)}\n")
    with log_path.open("ab") as log:
        try:
            return subprocess.run(
                command,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=INSTALL_TIMEOUT,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            return -1
        except OSError as exc:
            log.write(f"cannot run {command[0]}: {exc}\n".encode())
            return -2


def _create(staging: Path, log_path: Path) -> None:
    base = getattr(sys, "_base_executable", sys.executable)
    if _run([base, "-m", "venv", str(staging)], log_path, cwd=staging.parent) != 0:
        raise DeployFailedError(
            "creating a virtual environment for the solution's dependencies failed",
            hint=f"see {log_path}; on Debian/Ubuntu install python3-venv",
        )
    site_packages = Path(
        sysconfig.get_paths(vars={"base": str(staging), "platbase": str(staging)})["purelib"]
    )
    lines = "".join(f"import site; site.addsitedir({d!r})\n" for d in parent_site_dirs())
    (site_packages / LAYER_FILE).write_text(lines, encoding="utf-8")
    (staging / LAYER_FILE).write_text(lines, encoding="utf-8")  # marks a finished layer


def _install(staging: Path, requirements: list[str], workspace: Path, log_path: Path) -> None:
    command = [str(_python(staging)), "-m", "pip", "install", "--disable-pip-version-check"]
    if (workspace / "requirements.txt").is_file():
        command += ["-r", "requirements.txt"]
    command += solution_dependencies(workspace).get("packages", [])
    start = log_path.stat().st_size if log_path.exists() else 0
    code = _run(command, log_path, cwd=workspace)
    if code == 0:
        return
    with log_path.open("rb") as handle:
        handle.seek(start)
        output = handle.read().decode("utf-8", errors="replace")
    match = _FAILED.search(output)
    if match:
        message = f"cannot install {match.group(1).rstrip('.,;:)')!r}"
    elif code == -1:
        message = f"it took longer than {INSTALL_TIMEOUT:.0f}s"
    else:
        errors = [line for line in output.splitlines() if line.startswith("ERROR")]
        message = "; ".join(errors[-3:]) or f"pip exited with code {code}"
    raise DeployFailedError(
        f"installing the solution's dependencies failed: {message}",
        hint=f"check requirements.txt / pyproject.toml; full log: {log_path}",
    )
