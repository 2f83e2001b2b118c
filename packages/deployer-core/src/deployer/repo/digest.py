"""A bounded scan of a solution: what the selector's signals are matched against.

Large repositories are sampled, never read whole: at most `max_files` paths are listed and at
most `max_python_files` Python files (each up to `max_file_bytes`) are read for imports.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from deployer.errors import UsageError
from deployer.repo.ignore import IgnoreRules
from deployer.repo.project import solution_dependencies
from deployer.repo.requirements import normalise_name

README_NAMES = ("README.md", "README.rst", "README.txt", "README")


@dataclass
class RepoDigest:
    root: Path
    files: list[str] = field(default_factory=list)
    dependencies: set[str] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)
    # dotted names too (`ray.serve` for `import ray.serve` or `from ray import serve`), for
    # selection signals on a submodule; `imports` stays top-level names (the prompt's list)
    dotted_imports: set[str] = field(default_factory=set)
    code_sample: str = ""
    readme: str = ""
    truncated: bool = False
    gpu: str | None = None  # the GPU its manifest asks for (cog.yaml build.gpu, Truss ...)
    gpu_source: str | None = None


def normalise_dependency(name: str) -> str:
    """PEP 503 form; the one implementation is `repo.requirements.normalise_name`."""
    return normalise_name(name)


def read_requirements(root: Path) -> set[str]:
    """Dependency names the solution declares anywhere: requirements files, pyproject.toml,
    and its manifests (cog.yaml, Truss, bentofile, langgraph.json, setup.py, ...), read by
    `repo.project.solution_dependencies`. A malformed file is left to deploy to report."""
    return _declared(root)[0]


def _declared(root: Path) -> tuple[set[str], str | None, str | None]:
    """(dependency names, the GPU a manifest asks for, which manifest said so)."""
    try:
        declared = solution_dependencies(root)
    except UsageError:
        return set(), None, None
    asking = next((m.file for m in declared.manifests if m.gpu), None)
    return declared.requirements.names, declared.gpu, asking


def _dotted_imports(source: str) -> set[str]:
    """Every module path the code imports, with its parents: `import a.b` and `from a import
    b` both give a and a.b (b may be a name rather than a module; a signal on it is fine)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set(re.findall(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", source, re.MULTILINE))
    paths: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            paths |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            paths |= {f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*"}
            paths.add(node.module)
    found: set[str] = set()
    for path in paths:
        parts = path.split(".")
        found |= {".".join(parts[: i + 1]) for i in range(len(parts))}
    return found


def scan_repository(
    root: Path,
    max_files: int = 2000,
    max_python_files: int = 200,
    max_file_bytes: int = 200_000,
    max_sample_chars: int = 200_000,
) -> RepoDigest:
    digest = RepoDigest(root=root)
    python_files: list[Path] = []
    for relative, entry in IgnoreRules(root).walk():
        if entry.is_symlink():
            continue
        if len(digest.files) >= max_files:
            digest.truncated = True
            break
        digest.files.append(relative)
        if relative.endswith(".py"):
            python_files.append(Path(entry.path))
    # Top-level files first: they are the most telling in a sample.
    python_files.sort(key=lambda p: (len(p.relative_to(root).parts), p.as_posix()))
    if len(python_files) > max_python_files:
        digest.truncated = True
    sample: list[str] = []
    size = 0
    for path in python_files[:max_python_files]:
        try:
            with path.open("rb") as handle:
                source = handle.read(max_file_bytes).decode("utf-8", errors="replace")
        except OSError:
            continue
        dotted = _dotted_imports(source)
        digest.imports |= {name for name in dotted if "." not in name}
        digest.dotted_imports |= dotted
        if size < max_sample_chars:
            sample.append(source[: max_sample_chars - size])
            size += len(sample[-1])
    digest.code_sample = "\n".join(sample)
    digest.dependencies, digest.gpu, digest.gpu_source = _declared(root)
    digest.readme = read_readme(root)
    return digest


def read_readme(root: Path, limit: int = 2000) -> str:
    for name in README_NAMES:
        path = root / name
        if path.is_file():
            with path.open("rb") as handle:
                return handle.read(limit).decode("utf-8", errors="replace")
    return ""


def goal_from_readme(root: Path, limit: int = 500) -> str:
    """The title and first paragraph of the README: where people say what their code is for."""
    parts: list[str] = []
    paragraph: list[str] = []
    for line in read_readme(root).splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            if paragraph:
                break
            parts.append(stripped.lstrip("#").strip())
        elif stripped:
            paragraph.append(stripped)
        elif paragraph:
            break
    return " ".join(parts + paragraph)[:limit]
