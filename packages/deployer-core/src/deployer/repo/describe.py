"""A repository described for a language model, within a size budget.

Built on the same bounded scan as the offline selector (`digest.scan_repository`): the file
tree (top-level first), the dependency lists, the imports seen, then excerpts of the files that
say most about how the code runs (README, pyproject.toml, requirements.txt, Dockerfile,
conventional entry-point files, other top-level Python files), until the budget is spent.
Files that look like they hold credentials (.env, keys, certificates) are never excerpted, and
the deployment's secret values are redacted from everything.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

from deployer.llm.client import redact
from deployer.repo.digest import RepoDigest, scan_repository
from deployer.repo.entrypoints import CONVENTIONAL_FILES
from deployer.repo.ignore import looks_secret as looks_like_secret_file

DEFAULT_BUDGET = 16_000  # characters of repository text in a prompt (about 4k tokens)
BUDGET_ENV = "DEPLOYER_LLM_PROMPT_BUDGET"
MIN_BUDGET = 1_000
KEY_FILES = (
    "pyproject.toml", "requirements.txt", "setup.cfg", "setup.py", "Dockerfile",
    "docker-compose.yml", "langgraph.json", "bentofile.yaml", "modal.toml", "environment.yml",
    "Procfile", "cog.yaml",
)  # fmt: skip
# Beyond the files every copy leaves out (repo.ignore.looks_secret), a prompt never quotes a
# file whose name merely mentions secrets or credentials.
PROMPT_SECRET_PATTERNS = ("*secret*", "*credential*")
MAX_EXCERPT = 3_000
TREE_SHARE = 0.35  # at most this share of the budget lists files


def prompt_budget(explicit: int | None = None) -> int:
    """The repository-text budget: explicit, else DEPLOYER_LLM_PROMPT_BUDGET, else default."""
    if explicit is None:
        try:
            explicit = int(os.environ.get(BUDGET_ENV, "") or DEFAULT_BUDGET)
        except ValueError:
            explicit = DEFAULT_BUDGET
    return max(MIN_BUDGET, explicit)


def looks_secret(relative: str) -> bool:
    name = relative.rsplit("/", 1)[-1].lower()
    return looks_like_secret_file(relative) or any(
        fnmatch.fnmatch(name, pattern) for pattern in PROMPT_SECRET_PATTERNS
    )


@dataclass
class RepoText:
    text: str
    files_total: int
    files_listed: int
    excerpts: list[str] = field(default_factory=list)
    truncated: bool = False


def _read(path: Path, limit: int) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError:
        return ""
    if b"\x00" in data[:1024]:
        return ""  # binary
    text = data[:limit].decode("utf-8", errors="replace")
    return text + ("\n... [truncated]" if len(data) > limit else "")


def excerpt_order(digest: RepoDigest) -> list[str]:
    """Files worth quoting, most telling first."""
    present = set(digest.files)
    ordered: list[str] = []
    for name in ("README.md", "README.rst", "README.txt", "README"):
        if name in present:
            ordered.append(name)
            break
    ordered += [name for name in KEY_FILES if name in present]
    ordered += [name for name in CONVENTIONAL_FILES if name in present]
    top_python = sorted(f for f in digest.files if f.endswith(".py") and "/" not in f)
    nested_python = sorted(
        (f for f in digest.files if f.endswith(".py") and "/" in f),
        key=lambda f: (f.count("/"), f),
    )
    for name in [*top_python, *nested_python]:
        if name not in ordered:
            ordered.append(name)
    return [name for name in ordered if not looks_secret(name)]


def describe_repository(
    root: Path,
    budget: int | None = None,
    secrets: list[str] | None = None,
    digest: RepoDigest | None = None,
) -> RepoText:
    """The repository as prompt text of at most about `budget` characters."""
    budget = prompt_budget(budget)
    secrets = secrets or []
    digest = digest or scan_repository(root)
    files = sorted(digest.files, key=lambda f: (f.count("/"), f))
    parts: list[str] = []

    tree_budget = int(budget * TREE_SHARE)
    listed: list[str] = []
    used = 0
    for name in files:
        if used + len(name) + 3 > tree_budget:
            break
        listed.append(name)
        used += len(name) + 3
    more = len(files) - len(listed)
    sampled = " (the repository is larger: this is a sample)" if digest.truncated else ""
    header = f"Files ({len(files)} found{sampled}):"
    tree = "\n".join(f"- {name}" for name in listed)
    if more:
        tree += f"\n- ... and {more} more"
    parts.append(f"{header}\n{tree}")
    deps = ", ".join(sorted(digest.dependencies)) or "none declared"
    parts.append(f"Declared dependencies: {deps}")
    imports = sorted(digest.imports)
    shown = ", ".join(imports[:80]) + (
        f", ... ({len(imports) - 80} more)" if len(imports) > 80 else ""
    )
    parts.append(f"Modules imported by the code: {shown or 'none'}")

    text = "\n\n".join(parts)
    excerpts: list[str] = []
    truncated = bool(more) or digest.truncated
    for relative in excerpt_order(digest):
        room = budget - len(text) - 40 - len(relative)
        if room < 200:
            truncated = True
            break
        body = _read(root / relative, min(MAX_EXCERPT, room))
        if not body.strip():
            continue
        text += f"\n\n--- {relative} ---\n{body.rstrip()}"
        excerpts.append(relative)
    return RepoText(
        text=redact(text, secrets),
        files_total=len(files),
        files_listed=len(listed),
        excerpts=excerpts,
        truncated=truncated,
    )
