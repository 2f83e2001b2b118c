"""The solution's own virtual environment: dependency parsing, creation and caching.

Environments live under `cache_dir("venvs")/<key>`, where the key hashes the interpreter and
the normalised dependency list, so deployments with identical dependencies share one. An
environment is built in place under a lock (one builder per key, across processes) and marked
complete only once its install succeeded: a failed or killed build never counts as a cached
environment, and the next deploy (or `deployer cache prune`) removes it.

The builder is uv where it is installed (`pip install "deployer-core[uv]"`, or `uv` on PATH;
about 15x faster here than venv + pip), else the standard library's venv without pip plus
deployer's own pip pointed at it (`pip --python`), which saves the seconds venv spends
installing pip into every environment. Layered environments (`inherit_site`) always use pip:
it sees the inherited site directories as installed, so only what they lack is installed.
`DEPLOYER_VENV_BUILDER=pip|uv` forces one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from deployer.errors import DeployFailedError
from deployer.modules import module_installed
from deployer.paths import cache_dir
from deployer.repo.project import manifest_requirements

INSTALL_TIMEOUT = 1800.0
LAYER_FILE = "_deployer_layer.pth"
COMPLETE_MARKER = ".deployer-complete"
BUILDER_ENV = "DEPLOYER_VENV_BUILDER"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")
# pip options that only say where packages come from: safe to share an environment across.
_INDEX_OPTIONS = (
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--pre",
    "--prefer-binary",
    "--only-binary",
    "--no-binary",
    "--trusted-host",
)
_FAILED_REQUIREMENT = (
    re.compile(r"No matching distribution found for (\S+)"),
    re.compile(r"Could not find a version that satisfies the requirement (\S+)"),
    re.compile(r"Failed to build (\S+)"),
    re.compile(r"Failed building wheel for (\S+)"),
    re.compile(r"Invalid requirement: '?([^'\s]+)'?"),
    # uv (its report wraps lines: matched on the output with whitespace collapsed)
    re.compile(r"was not found in the package registry and you require ([^,]+),"),
    re.compile(r"Because there are no versions of ([^ ]+) and"),
)
# Where pip (ERROR) and uv (error:, and its boxed report) say what failed.
ERROR_MARKS = ("ERROR", "error:", "\u00d7", "\u2570\u2500\u25b6")
_interpreters: dict[str, str] = {}


@dataclass
class Dependencies:
    """What the solution needs installed, and whether it can share a cached environment."""

    requirements_file: Path | None = None
    packages: list[str] = field(default_factory=list)
    normalised: list[str] = field(default_factory=list)
    local: bool = False  # refers to files in the workspace: the environment is not shared

    @property
    def empty(self) -> bool:
        return not self.normalised


def normalise_requirement(line: str) -> str:
    """Lower-case and PEP 503-normalise the project name; collapse whitespace."""
    text = " ".join(line.split())
    match = _NAME.match(text)
    if match is None or text.startswith("-"):
        return text
    name = canonicalize_name(match.group(0))
    return name + text[match.end() :]


def _is_local(line: str) -> bool:
    if line.startswith("-"):
        option = line.split("=", 1)[0].split(None, 1)[0]
        return option not in _INDEX_OPTIONS
    return line.startswith((".", "/", "~", "file:")) or " @ file:" in line


def read_dependencies(workspace: Path) -> Dependencies:
    """Dependencies from requirements.txt, pyproject.toml `[project] dependencies` and the
    lists the solution's manifests state (`repo.project.manifest_requirements`)."""
    deps = Dependencies()
    requirements = workspace / "requirements.txt"
    if requirements.is_file():
        deps.requirements_file = requirements
        for raw in requirements.read_text(encoding="utf-8", errors="replace").splitlines():
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            deps.normalised.append(normalise_requirement(line))
            deps.local = deps.local or _is_local(line)
    pyproject = workspace / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise DeployFailedError(
                f"pyproject.toml of the solution is not valid TOML: {exc}"
            ) from None
        listed = data.get("project", {}).get("dependencies", [])
        if not isinstance(listed, list) or not all(isinstance(d, str) for d in listed):
            raise DeployFailedError(
                "pyproject.toml: [project] dependencies must be a list of strings"
            )
        for item in listed:
            deps.packages.append(item)
            deps.normalised.append(normalise_requirement(item))
            deps.local = deps.local or _is_local(item)
    for requirement in manifest_requirements(workspace).requirements:  # cog.yaml, setup.py...
        if requirement.text not in deps.packages:
            deps.packages.append(requirement.text)
            deps.normalised.append(normalise_requirement(requirement.text))
            deps.local = deps.local or requirement.local
    deps.normalised = sorted(set(deps.normalised))
    return deps


def interpreter_version(python: str) -> str:
    """The interpreter's identity for the cache key: implementation, full version, real path."""
    if python in _interpreters:
        return _interpreters[python]
    real = os.path.realpath(python)
    if sys.executable and real == os.path.realpath(sys.executable):
        # deployer's own interpreter (the default): no process to start (~0.16 s per deploy)
        identity = f"{platform.python_implementation()} {sys.version}"
    else:
        code = "import sys, platform; print(platform.python_implementation(), sys.version)"
        try:
            identity = subprocess.run(
                [python, "-c", code], capture_output=True, text=True, timeout=60, check=True
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise DeployFailedError(
                f"cannot run the Python interpreter {python!r}: {exc}",
                hint="set --option python=/path/to/python3 to an interpreter that works",
            ) from None
    _interpreters[python] = " ".join(identity.split()) + " " + real
    return _interpreters[python]


def cache_key(
    python: str, deps: Dependencies, workspace: Path, inherit_site: Sequence[str] = ()
) -> str:
    payload: dict[str, object] = {
        "python": interpreter_version(python),
        "dependencies": deps.normalised,
    }
    if inherit_site:
        payload["inherit_site"] = list(inherit_site)
    if deps.local:
        payload["workspace"] = str(workspace.resolve())
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return digest[:24]


def venv_python(venv: Path) -> Path:
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def is_usable(venv: Path) -> bool:
    """A cached environment is usable when its build completed and its interpreter (a
    symlink to the base) still resolves."""
    return (
        (venv / COMPLETE_MARKER).is_file()
        and (venv / "pyvenv.cfg").is_file()
        and venv_python(venv).exists()
    )


def uv_binary() -> str | None:
    """The uv executable: from the `uv` package (the extra), else on PATH, else None."""
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def choose_builder(layered: bool) -> str:
    """'uv' or 'pip' (see the module docstring)."""
    forced = os.environ.get(BUILDER_ENV, "").strip().lower()
    if forced in {"uv", "pip"}:
        if forced == "uv" and uv_binary() is None:
            raise DeployFailedError(
                f"{BUILDER_ENV}=uv but uv is not installed",
                hint='pip install "deployer-core[uv]", or unset ' + BUILDER_ENV,
            )
        return forced
    if layered:
        return "pip"
    return "uv" if uv_binary() is not None else "pip"


def _lock_path(target: Path) -> Path:
    return cache_dir("locks") / f"{target.parent.name}-{target.name}.lock"


def build_lock_held(target: Path) -> bool:
    """Whether another process is building this environment right now."""
    lock_path = _lock_path(target)
    if not lock_path.exists():
        return False
    try:
        import fcntl
    except ImportError:
        return False
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


@contextlib.contextmanager
def build_lock(target: Path) -> Iterator[None]:
    """Hold the build lock of one cached environment (other processes wait)."""
    lock_path = _lock_path(target)
    with lock_path.open("a") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: builds of one key are not serialised
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def default_python(option: str | None) -> str:
    if not option:
        return sys.executable
    found = shutil.which(option)
    if found is None:
        raise DeployFailedError(
            f"the Python interpreter {option!r} was not found",
            hint="pass --option python=/path/to/python3 or leave it empty for deployer's own",
        )
    return found


def ensure_venv(
    workspace: Path,
    python: str,
    log_path: Path,
    *,
    inherit_site: Sequence[str] = (),
    cache: str = "venvs",
) -> Path:
    """Return a ready environment with the workspace's dependencies, building it if needed.

    With `inherit_site`, the environment is *layered*: a .pth file appends those site
    directories (a server framework's, e.g. where bentoml or langgraph-api is installed) after
    its own site-packages, so pip installs only what they lack and the solution's pins win.
    Environments are cached under `cache_dir(cache)` by interpreter, dependencies and layers.
    """
    deps = read_dependencies(workspace)
    root = cache_dir(cache)
    target = root / cache_key(python, deps, workspace, inherit_site)
    if is_usable(target):
        _append(log_path, f"reusing the cached environment {target}\n")
        return target
    with build_lock(target):
        if is_usable(target):  # a concurrent deploy built it while we waited
            _append(log_path, f"reusing the cached environment {target}\n")
            return target
        if target.exists():  # a half-built environment, or its base interpreter is gone
            shutil.rmtree(target, ignore_errors=True)
        builder = choose_builder(layered=bool(inherit_site))
        try:
            _create(builder, python, target, log_path=log_path)
            if inherit_site:
                _layer(target, inherit_site)
            if not deps.empty:
                _install(builder, target, deps, workspace, log_path)
            (target / COMPLETE_MARKER).write_text(
                json.dumps({"builder": builder, "python": python}), encoding="utf-8"
            )
        except BaseException:
            # the deployment keeps this attempt's log (see factory.keep_failed_logs)
            shutil.rmtree(target, ignore_errors=True)
            raise
    return target


def _layer(venv: Path, site_dirs: Sequence[str]) -> None:
    found = sorted(venv.glob("lib/python*/site-packages"))
    if not found:
        raise DeployFailedError(f"the new environment {venv} has no site-packages directory")
    lines = "".join(f"import site; site.addsitedir({d!r})\n" for d in site_dirs)
    (found[0] / LAYER_FILE).write_text(lines, encoding="utf-8")


def site_dirs(python: str | None = None) -> list[str]:
    """The site-packages directories an interpreter uses (deployer's own by default)."""
    if python is None:
        paths = sys.path
    else:
        code = "import json, sys; print(json.dumps(sys.path))"
        try:
            out = subprocess.run(
                [python, "-c", code], capture_output=True, text=True, timeout=60, check=True
            ).stdout
            paths = json.loads(out.strip().splitlines()[-1])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
            raise DeployFailedError(
                f"cannot run the Python interpreter {python!r}: {exc}"
            ) from None
    found: list[str] = []
    for entry in paths:
        is_site = entry.endswith(("site-packages", "dist-packages")) and os.path.isdir(entry)
        if is_site and entry not in found:
            found.append(entry)
    return found


def _append(log_path: Path, text: str) -> None:
    with log_path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def _run_logged(command: list[str], log_path: Path, cwd: Path, timeout: float) -> int:
    _append(log_path, f"$ {' '.join(command)}\n")
    with log_path.open("ab") as log:
        try:
            return subprocess.run(
                command,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            return -1
        except OSError as exc:
            log.write(f"cannot run {command[0]}: {exc}\n".encode())
            return -2


def _create(builder: str, python: str, target: Path, *, log_path: Path) -> None:
    if builder == "uv":
        command = [
            str(uv_binary()), "venv", "--quiet", "--no-config", "--no-python-downloads",
            "--python", python, str(target),
        ]  # fmt: skip
    else:
        command = [python, "-m", "venv", "--without-pip", str(target)]
    if _run_logged(command, log_path, cwd=target.parent, timeout=INSTALL_TIMEOUT) != 0:
        raise DeployFailedError(
            f"creating a virtual environment with {python} failed",
            hint=f"see {log_path}; on Debian/Ubuntu install python3-venv",
        )


def _install(builder: str, venv: Path, deps: Dependencies, workspace: Path, log_path: Path) -> None:
    target_python = str(venv_python(venv))
    if builder == "uv":
        command = [str(uv_binary()), "pip", "install", "--no-config", "--python", target_python]
    else:  # deployer's own pip, pointed at the new environment (which has none)
        require_pip("installing the solution's dependencies")
        command = [sys.executable, "-m", "pip", "--python", target_python, "install",
                   "--disable-pip-version-check"]  # fmt: skip
    if deps.requirements_file is not None:
        command += ["-r", deps.requirements_file.name]
    command += deps.packages
    start = log_path.stat().st_size if log_path.exists() else 0
    code = _run_logged(command, log_path, cwd=workspace, timeout=INSTALL_TIMEOUT)
    if code == 0:
        return
    with log_path.open("rb") as handle:
        handle.seek(start)
        output = handle.read().decode("utf-8", errors="replace")
    raise install_error(output, log_path, timed_out=code == -1)


def require_pip(purpose: str) -> None:
    """Refuse in one line, before anything starts, when deployer's own Python has no pip.

    Both deployer's pip builder and Ray's `runtime_env` pip (which installs into a copy of the
    driver's virtual environment) need it; an environment made with `uv venv` has none, and
    the failure would otherwise come from deep inside pip's or Ray's setup.
    """
    if module_installed("pip"):
        return
    raise DeployFailedError(
        f"{purpose} needs pip in deployer's own Python environment, which has none "
        "(an environment made with `uv venv` has no pip)",
        hint="run `python -m ensurepip` with deployer's Python, or `uv pip install pip`",
    )


def install_error(output: str, log_path: Path, *, timed_out: bool = False) -> DeployFailedError:
    """Name the requirement pip could not install; otherwise quote its last lines."""
    if timed_out:
        return DeployFailedError(
            f"installing the solution's dependencies took longer than {INSTALL_TIMEOUT:.0f}s",
            hint=f"see {log_path}",
        )
    requirement = failed_requirement(output)
    if requirement is not None:
        return DeployFailedError(
            f"installing the solution's dependencies failed: cannot install {requirement!r}",
            hint=f"check the name and version in requirements.txt/pyproject.toml; "
            f"full log: {log_path}",
        )
    return DeployFailedError(
        f"installing the solution's dependencies failed:\n{pip_error_lines(output)}",
        hint=f"full log: {log_path}",
    )


def failed_requirement(output: str) -> str | None:
    """The requirement pip says it could not install or download, if it names one."""
    flat = " ".join(output.split())
    for pattern in _FAILED_REQUIREMENT:
        match = pattern.search(flat)
        if match:
            return match.group(1).rstrip(".,;:)")
    return None


def pip_error_lines(output: str) -> str:
    """pip's last ERROR lines, or its last lines where it printed none."""
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.lstrip().startswith(ERROR_MARKS)]
    return "\n".join(errors[-5:] or lines[-10:])
