"""The generated image's `.dockerignore`, derived from core's one rule set (no list of our own).

The adapted workspace is a copy of the solution made through core's `IgnoreRules` (built-in
defaults, the solution's `.gitignore`, `.dockerignore` and `.deployerignore`), so it already
holds only what ships. What the rules would leave out but appeared in the workspace after the
copy (a virtual environment, `__pycache__`, a file matching the solution's own patterns) is
listed here by exact path, so the build context is exactly what the rules keep. The solution's
patterns are not copied as they are: Docker reads patterns differently from git (`*.pyc` only
matches at the top in Docker), and a solution's `*.txt` must not drop the requirements file the
Dockerfile installs. Deployer's own build files are never excluded.
"""

from __future__ import annotations

import os
from pathlib import Path

from deployer.plugin import IgnoreRules

FILE_NAME = ".dockerignore"
HEADER = (
    "# deployer-docker: generated from deployer's ignore rules (defaults, .gitignore,\n"
    "# .dockerignore, .deployerignore). The workspace already holds only what they keep;\n"
    "# these are entries that appeared in it afterwards.\n"
)
_SPECIAL = "\\*?["


def excluded_entries(workspace: Path, keep: frozenset[str]) -> list[str]:
    """Top-most files and directories of `workspace` the rules leave out (POSIX, relative,
    sorted); a directory holding nothing the rules keep is one entry. `keep` names top-level
    entries that are deployer's own and always ship."""
    rules = IgnoreRules(workspace)
    kept_files = {relative for relative, _ in rules.walk()}
    kept_dirs = {str(Path(f).parent.as_posix()) for f in kept_files}
    for directory in list(kept_dirs):
        parts = directory.split("/")
        kept_dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
    out: list[str] = []
    root = Path(workspace)

    def visit(directory: Path, prefix: str) -> None:
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            relative = entry.name if not prefix else f"{prefix}/{entry.name}"
            if not prefix and entry.name in keep:
                continue
            if entry.is_dir(follow_symlinks=False):
                if relative in kept_dirs:
                    visit(Path(entry.path), relative)
                else:
                    out.append(relative)
            elif relative not in kept_files:
                out.append(relative)

    visit(root, "")
    return out


def escape(relative: str) -> str:
    """One path as a Docker exclusion pattern matching only itself: anchored at the context
    root (so a leading `#` or `!` is no comment or exception), wildcards escaped, and the
    characters a pattern line cannot hold (line breaks, trailing spaces) matched by `?`."""
    escaped = "".join(f"\\{c}" if c in _SPECIAL else c for c in relative)
    escaped = escaped.replace("\r", "?").replace("\n", "?")
    stripped = escaped.rstrip()
    return "/" + stripped + "?" * (len(escaped) - len(stripped))


def render(entries: list[str]) -> str:
    return HEADER + "".join(f"{escape(entry)}\n" for entry in entries)


def write_dockerignore(workspace: Path, keep: frozenset[str]) -> list[str]:
    """Write the workspace's `.dockerignore` (replacing the solution's copy); the entries."""
    entries = excluded_entries(workspace, keep | {FILE_NAME})
    (workspace / FILE_NAME).write_text(render(entries), encoding="utf-8")
    return entries
