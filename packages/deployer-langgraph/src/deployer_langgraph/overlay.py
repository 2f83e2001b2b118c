"""The solution's dependencies for `langgraph dev`, layered on the environment that runs it.

`langgraph dev` imports the graph into its own interpreter, so the solution's requirements
must be importable there. Installing langgraph-api into a fresh environment per solution
would take minutes; instead an *overlay* environment is made: a venv without pip whose
site-packages holds the solution's packages and a `.pth` line that appends the launcher's
site-packages (where langgraph-cli[inmem] lives). The overlay's own packages come first on
sys.path, so a solution's pins win; requirements the launcher already satisfies are not
installed again (pip sees them through the .pth). Overlays are cached under
`cache_dir("langgraph-overlays")/<key>`, the key hashing the launcher and the normalised
requirements; one is built in a temporary directory and renamed into place only once pip
succeeded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from deployer.errors import DeployFailedError
from deployer.paths import cache_dir

INSTALL_TIMEOUT = 1800.0
PTH_FILE = "_deployer_langgraph_base.pth"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")
_LOCAL_PREFIXES = (".", "/", "~", "file:")
_SOURCE_OPTIONS = ("-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--pre")
_FAILED = (
    re.compile(r"No matching distribution found for (\S+)"),
    re.compile(r"Could not find a version that satisfies the requirement (\S+)"),
    re.compile(r"Failed to build (\S+)"),
)
_PROBE = (
    "import json, sys, platform\n"
    "print(json.dumps({'identity': platform.python_implementation() + ' ' + sys.version,"
    " 'executable': sys.executable,"
    " 'site': [p for p in sys.path if p.endswith(('site-packages', 'dist-packages'))]}))"
)
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
_launchers: dict[str, dict[str, object]] = {}


@dataclass
class Dependencies:
    """The solution's requirements as pip gets them, and their normalised form for the key."""

    requirements_file: Path | None = None
    packages: list[str] = field(default_factory=list)
    normalised: list[str] = field(default_factory=list)
    local: bool = False  # refers to files in the workspace: the overlay is not shared

    @property
    def empty(self) -> bool:
        return not self.normalised


def _normalise(line: str) -> str:
    text = " ".join(line.split())
    match = _NAME.match(text)
    if match is None or text.startswith("-"):
        return text
    return re.sub(r"[-_.]+", "-", match.group(0)).lower() + text[match.end() :]


def _is_local(line: str) -> bool:
    if line.startswith("-"):
        return line.split("=", 1)[0].split(None, 1)[0] not in _SOURCE_OPTIONS
    return line.startswith(_LOCAL_PREFIXES) or " @ file:" in line


def read_dependencies(workspace: Path) -> Dependencies:
    """requirements.txt lines and pyproject.toml `[project] dependencies`."""
    deps = Dependencies()
    requirements = workspace / "requirements.txt"
    if requirements.is_file():
        deps.requirements_file = requirements
        for raw in requirements.read_text(encoding="utf-8", errors="replace").splitlines():
            line = raw.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                deps.normalised.append(_normalise(line))
                deps.local = deps.local or _is_local(line)
    pyproject = workspace / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise DeployFailedError(f"the solution's pyproject.toml is not valid: {exc}") from None
        listed = data.get("project", {}).get("dependencies", [])
        if not isinstance(listed, list) or not all(isinstance(d, str) for d in listed):
            raise DeployFailedError("pyproject.toml: [project] dependencies must be strings")
        for item in listed:
            deps.packages.append(item)
            deps.normalised.append(_normalise(item))
            deps.local = deps.local or _is_local(item)
    deps.normalised = sorted(set(deps.normalised))
    return deps


def launcher_info(python: str) -> dict[str, object]:
    """The launcher's identity and site-packages directories (asked once per process)."""
    if python not in _launchers:
        try:
            out = subprocess.run(
                [python, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True
            ).stdout
            _launchers[python] = json.loads(out.strip().splitlines()[-1])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
            raise DeployFailedError(
                f"cannot run the Python interpreter {python!r}: {exc}",
                hint="pass --option python=/path/to/python with langgraph-cli[inmem] installed",
            ) from None
    return _launchers[python]


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
    return overlay / "bin" / "python"


def is_usable(overlay: Path) -> bool:
    return (overlay / "pyvenv.cfg").is_file() and overlay_python(overlay).exists()


def ensure_overlay(workspace: Path, python: str, log_path: Path) -> Path | None:
    """The overlay with the workspace's requirements, or None when it declares none."""
    deps = read_dependencies(workspace)
    if deps.empty:
        return None
    if already_satisfied(python, deps):
        _append(log_path, f"every requirement is already installed where {python} runs\n")
        return None
    info = launcher_info(python)
    payload = {"launcher": info, "dependencies": deps.normalised}
    if deps.local:
        payload["workspace"] = str(workspace.resolve())
    key = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]
    root = cache_dir("langgraph-overlays")
    target = root / key
    if is_usable(target):
        _append(log_path, f"reusing the cached environment {target}\n")
        return target
    shutil.rmtree(target, ignore_errors=True)  # its base interpreter is gone: rebuild
    staging = root / f".{key}-{uuid.uuid4().hex[:8]}"
    try:
        _run(
            [python, "-m", "venv", "--without-pip", str(staging)],
            log_path,
            cwd=root,
            failure="creating a virtual environment",
        )
        site = _site_packages(staging)
        lines = "".join(
            f"import site; site.addsitedir({path!r})\n" for path in info.get("site", [])
        )
        (site / PTH_FILE).write_text(lines, encoding="utf-8")
        command = [str(overlay_python(staging)), "-m", "pip", "install"]
        command += ["--disable-pip-version-check", "--no-input"]
        if deps.requirements_file is not None:
            command += ["-r", deps.requirements_file.name]
        _run(
            command + deps.packages,
            log_path,
            cwd=workspace,
            failure="installing the solution's dependencies",
        )
        _relocate(staging, target)
        try:
            os.replace(staging, target)
        except OSError:
            if not is_usable(target):  # not a concurrent build that won the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python*/site-packages"))
    if not found:
        raise DeployFailedError(f"the new environment {venv} has no site-packages directory")
    return found[0]


def _append(log_path: Path, text: str) -> None:
    with log_path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def _run(command: list[str], log_path: Path, *, cwd: Path, failure: str) -> None:
    _append(log_path, f"$ {' '.join(command)}\n")
    start = log_path.stat().st_size
    with log_path.open("ab") as log:
        try:
            code = subprocess.run(
                command,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=INSTALL_TIMEOUT,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            raise DeployFailedError(
                f"{failure} took longer than {INSTALL_TIMEOUT:.0f}s", hint=f"see {log_path}"
            ) from None
        except OSError as exc:
            raise DeployFailedError(f"{failure} failed: cannot run {command[0]}: {exc}") from None
    if code == 0:
        return
    with log_path.open("rb") as handle:
        handle.seek(start)
        output = handle.read().decode("utf-8", errors="replace")
    raise _failure(failure, output, log_path)


def _failure(what: str, output: str, log_path: Path) -> DeployFailedError:
    """Name the requirement pip could not install; otherwise quote the last lines."""
    for pattern in _FAILED:
        match = pattern.search(output)
        if match:
            return DeployFailedError(
                f"{what} failed: cannot install {match.group(1).rstrip('.,;:)')!r}",
                hint=f"check requirements.txt/pyproject.toml; full log: {log_path}",
            )
    if "No module named pip" in output:
        return DeployFailedError(
            f"{what} failed: pip is not installed where langgraph dev runs",
            hint="install pip into that environment, or pass --option python=...",
        )
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return DeployFailedError(
        f"{what} failed:\n" + "\n".join(errors[-5:] or lines[-10:]), hint=f"full log: {log_path}"
    )


def _relocate(staging: Path, target: Path) -> None:
    """Point installed scripts at the final path before the rename."""
    old, new = str(staging).encode(), str(target).encode()
    for path in [staging / "pyvenv.cfg", *(staging / "bin").iterdir()]:
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if old in data and b"\0" not in data[:1024]:
            path.write_bytes(data.replace(old, new))
