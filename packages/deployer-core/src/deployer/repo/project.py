"""Whether the solution is an installable project, and what installing it needs.

A src-layout or packaged solution imports as its author's does only once the project itself is
installed (`pip install .`). Versions derived from git (setuptools-scm, hatch-vcs) cannot be
computed in a copy without `.git`; both read SETUPTOOLS_SCM_PRETEND_VERSION, so that variable
is given a placeholder version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from deployer.repo.manifests import Manifest, read_manifests
from deployer.repo.requirements import RequirementSet, read_requirements, read_toml

PRETEND_VERSION_ENV = "SETUPTOOLS_SCM_PRETEND_VERSION"
PLACEHOLDER_VERSION = "0.0.0"
GIT_VERSION_BACKENDS = ("setuptools_scm", "setuptools-scm", "hatch-vcs", "hatch_vcs")


@dataclass
class ProjectInstall:
    """How to install the solution's own project, when it is one."""

    installable: bool
    reason: str
    git_version: bool = False
    env: dict[str, str] = field(default_factory=dict)

    def instruction(self) -> str:
        env = " ".join(f"{k}={v}" for k, v in self.env.items())
        return "install the project itself (`pip install .`)" + (f" with env {env}" if env else "")


def project_install(root: Path) -> ProjectInstall:
    """Is root an installable project (pyproject [build-system]/[project], setup.py,
    setup.cfg), and does its version come from git?"""
    root = root.resolve()
    pyproject = root / "pyproject.toml"
    data = read_toml(pyproject, root) if pyproject.is_file() else {}
    build = data.get("build-system", {}) if isinstance(data.get("build-system"), dict) else {}
    project = data.get("project", {}) if isinstance(data.get("project"), dict) else {}
    reasons = []
    if build.get("build-backend") or build.get("requires"):
        reasons.append("pyproject.toml [build-system]")
    if project.get("name"):
        reasons.append("pyproject.toml [project]")
    for name in ("setup.py", "setup.cfg"):
        if (root / name).is_file():
            reasons.append(name)
    if not reasons:
        return ProjectInstall(
            False, "no pyproject.toml [build-system]/[project], setup.py or setup.cfg"
        )
    requires = " ".join(str(r) for r in build.get("requires", []) or []).lower()
    tool = data.get("tool", {}) if isinstance(data.get("tool"), dict) else {}
    hatch_source = (
        tool.get("hatch", {}).get("version", {}).get("source")
        if isinstance(tool.get("hatch"), dict)
        else None
    )
    dynamic = "version" in (project.get("dynamic") or [])
    git_version = (
        "setuptools_scm" in tool
        or "setuptools-scm" in tool
        or hatch_source == "vcs"
        or (dynamic and any(b in requires for b in GIT_VERSION_BACKENDS))
        or _setup_py_uses_scm(root)
    )
    env = {PRETEND_VERSION_ENV: PLACEHOLDER_VERSION} if git_version else {}
    return ProjectInstall(True, ", ".join(reasons), git_version, env)


def _setup_py_uses_scm(root: Path) -> bool:
    path = root / "setup.py"
    if not path.is_file():
        return False
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "use_scm_version" in text


@dataclass
class SolutionDependencies:
    """Everything the solution declares it needs, and where each part was stated."""

    requirements: RequirementSet
    project: ProjectInstall
    manifests: list[Manifest]
    python_version: str | None = None
    system_packages: list[str] = field(default_factory=list)
    gpu: str | None = None
    steps: list[str] = field(default_factory=list)


def solution_dependencies(root: Path) -> SolutionDependencies:
    """requirements.txt + pyproject + every manifest's list, the project install and its env.

    setup.py/setup.cfg/pyproject lists are installed by `pip install .` when the project is
    installable, so they are listed as requirements only when it is not."""
    root = root.resolve()
    project = project_install(root)
    requirements = read_requirements(root)
    manifests = read_manifests(root)
    out = SolutionDependencies(requirements=requirements, project=project, manifests=manifests)
    for manifest in manifests:
        if manifest.kind == "dockerfile" and not requirements.empty:
            continue  # a Dockerfile's pip lines are the last resort only
        if manifest.kind in {"setup.py", "setup.cfg"} and project.installable:
            requirements.other_names |= manifest.dependencies.names
            continue
        requirements.extend(manifest.dependencies)
        out.python_version = out.python_version or manifest.python_version
        out.gpu = out.gpu or manifest.gpu
        out.system_packages.extend(
            p for p in manifest.system_packages if p not in out.system_packages
        )
    if project.installable:
        out.steps.append(project.instruction())
    return out


def manifest_requirements(root: Path) -> RequirementSet:
    """What the solution's manifests list beyond requirements.txt/pyproject.toml (cog.yaml,
    Truss, bentofile, langgraph.json, MLproject, setup.py/setup.cfg, Pipfile; a Dockerfile's
    pip lines only when nothing else declares anything), for environments that install
    lists rather than the project itself."""
    root = root.resolve()
    out = RequirementSet()
    for manifest in read_manifests(root):
        if manifest.kind == "dockerfile" and not (out.empty and read_requirements(root).empty):
            continue
        out.extend(manifest.dependencies)
    return out


MANIFEST_FIELDS = {
    "cog.yaml": "cog.yaml build.python_packages",
    "config.yaml": "config.yaml requirements",
    "bentofile.yaml": "bentofile.yaml python.packages",
    "langgraph.json": "langgraph.json dependencies",
}


def dependency_manifest(root: Path) -> str | None:
    """Where this solution declares its dependencies (what an error should tell its author to
    edit): requirements.txt, else the first manifest that lists some, else pyproject.toml."""
    if (root / "requirements.txt").is_file():
        return "requirements.txt"
    try:
        manifests = read_manifests(root)
    except Exception:  # a malformed manifest is reported by the install, not here
        manifests = []
    for manifest in manifests:
        if manifest.dependencies.names:
            return MANIFEST_FIELDS.get(manifest.file, manifest.file)
    return "pyproject.toml [project] dependencies" if (root / "pyproject.toml").is_file() else None
