"""Which files of a solution are never copied, scanned or shipped: one rule set for all.

The rules are gitignore patterns (through `pathspec`), in this order, later lines winning as
in git: built-in defaults (VCS data, virtual environments, caches, build output), then the
solution's own `.gitignore` (nested ones too, each for its own directory), `.dockerignore`
and `.deployerignore` (where `!pattern` brings a file back). Any directory holding a
`pyvenv.cfg` is a virtual environment, whatever its name.

Apart from the rules, files that look like secrets (`.env`, keys, certificates, `.netrc`,
credential JSON) are never copied into a workspace, an image or a prompt unless the user names
them (`include` patterns), and symlinks that point outside the solution are never followed:
both are left out with a note, so `deploy` can say what it did not ship.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from deployer.environ import env_int
from deployer.errors import AdaptationError

DEFAULT_PATTERNS = (
    ".git/", ".hg/", ".svn/", "__pycache__/", ".venv/", "venv/", ".tox/", ".nox/",
    ".mypy_cache/", ".pytest_cache/", ".ruff_cache/", "node_modules/", ".ipynb_checkpoints/",
    ".DS_Store", ".eggs/", "dist/", "build/", ".langgraph_api/", "*.pyc", "*.pyo",
    "*.egg-info/", ".deployerignore",
)  # fmt: skip
IGNORE_FILES = (".gitignore", ".dockerignore", ".deployerignore")
SECRET_PATTERNS = (
    ".env", ".env.*", "!.env.example", "!.env.sample", "!.env.template", "*.env", "*.pem",
    "*.key", "*.p12", "*.pfx", "*.kdbx", "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*",
    ".netrc", ".pypirc", ".git-credentials", "credentials", "credentials*.json",
    "*_credentials.json", "*-credentials.json", "service-account*.json", "client_secret*.json",
)  # fmt: skip
COPY_WARN_MB = 100  # a copy above this many MB gets a note naming its biggest parts
# Kept for callers that only need the names of directories never worth entering.
IGNORED_NAMES = frozenset(p.rstrip("/") for p in DEFAULT_PATTERNS if p.endswith("/"))

_SECRETS = pathspec.GitIgnoreSpec.from_lines(SECRET_PATTERNS)


def looks_secret(relative: str) -> bool:
    """Whether a file (path relative to the solution) looks like it holds credentials."""
    return _SECRETS.match_file(relative)


@dataclass
class CopyReport:
    """What a copy left out, and why, for the user to see."""

    copied: int = 0
    ignored: int = 0
    secrets: list[str] = field(default_factory=list)
    outside_symlinks: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)  # bytes per top-level entry

    @property
    def size(self) -> int:
        return sum(self.sizes.values())

    def size_note(self) -> str:
        """Above $DEPLOYER_COPY_WARN_MB (default 100): how big the copy was, its biggest
        parts, and the .deployerignore lines that would leave them out."""
        limit = env_int("DEPLOYER_COPY_WARN_MB", COPY_WARN_MB)
        if self.size <= limit * 1_000_000:
            return ""
        ranked = sorted(self.sizes.items(), key=lambda item: -item[1])
        biggest = [item for item in ranked[:3] if item[1] * 10 >= self.size]  # a tenth or more
        parts = ", ".join(f"{name} ({_megabytes(size)})" for name, size in biggest)
        lines = " and ".join(repr(name) for name, _ in biggest)
        return (
            f"the copy of the solution is {_megabytes(self.size)} (over {limit} MB), biggest: "
            f"{parts}; if the solution does not need them, add {lines} to .deployerignore"
        )

    def notes(self) -> list[str]:
        notes = []
        big = self.size_note()
        if big:
            notes.append(big)
        if self.secrets:
            notes.append(
                "left out files that look like secrets: " + ", ".join(self.secrets)
                + " (ship one anyway with --include PATTERN)"
            )  # fmt: skip
        if self.outside_symlinks:
            notes.append(
                "left out symlinks that point outside the solution: "
                + ", ".join(self.outside_symlinks)
            )
        if self.ignored:
            notes.append(
                f"left out {self.ignored} files or directories matched by the ignore rules "
                "(defaults, .gitignore, .dockerignore, .deployerignore)"
            )
        return notes


class IgnoreRules:
    """The rule set for one solution directory (see the module docstring)."""

    def __init__(self, root: Path, include: Iterable[str] = ()) -> None:
        self.root = Path(root).resolve()
        lines = list(DEFAULT_PATTERNS)
        for name in IGNORE_FILES:
            lines.extend(_read_lines(self.root / name))
        self._spec = pathspec.GitIgnoreSpec.from_lines(lines)
        self._nested: dict[str, pathspec.GitIgnoreSpec] = {}
        self._include = pathspec.GitIgnoreSpec.from_lines(list(include))
        self.skipped = 0  # entries the rules left out during the last walk

    def ignored(self, relative: str, is_dir: bool = False) -> bool:
        """Whether a path (POSIX, relative to the root) is left out by the rules."""
        candidate = f"{relative}/" if is_dir else relative
        if self._include.match_file(candidate):
            return False
        if self._spec.match_file(candidate):
            return True
        for directory, spec in self._nested.items():
            if candidate.startswith(f"{directory}/"):
                inner = candidate[len(directory) + 1 :]
                if inner and spec.match_file(inner):
                    return True
        return False

    def secret(self, relative: str) -> bool:
        """Whether a file looks like a secret and the user did not name it."""
        return looks_secret(relative) and not self._include.match_file(relative)

    def walk(self) -> Iterator[tuple[str, os.DirEntry[str]]]:
        """Every kept entry under the root (files and symlinks; directories are entered, not
        yielded), top directory first, in name order, with its relative POSIX path."""
        yield from self._walk(self.root, "")

    def _walk(self, directory: Path, prefix: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
        if prefix:
            nested = _read_lines(directory / ".gitignore")
            if nested:
                self._nested[prefix] = pathspec.GitIgnoreSpec.from_lines(nested)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            relative = f"{prefix}{entry.name}" if not prefix else f"{prefix}/{entry.name}"
            is_dir = entry.is_dir(follow_symlinks=False)
            if is_dir and (Path(entry.path) / "pyvenv.cfg").is_file():
                continue  # a virtual environment, whatever its name
            if self.ignored(relative, is_dir):
                self.skipped += 1
                continue
            if is_dir:
                yield from self._walk(Path(entry.path), relative)
            else:
                yield relative, entry


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _top(relative: str) -> str:
    """`data/a/b.bin` -> `data/`, the way a .deployerignore line names the directory."""
    head, _, rest = relative.partition("/")
    return f"{head}/" if rest else head


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def copy_solution(source: Path, destination: Path, include: Iterable[str] = ()) -> CopyReport:
    """Copy what the rules keep; never a secret-looking file the user did not name, never a
    symlink that leads outside the solution (one inside is kept as a link)."""
    rules = IgnoreRules(source, include)
    root = rules.root
    report = CopyReport()
    try:
        destination.mkdir(parents=True)
        for relative, entry in rules.walk():
            target = destination / relative
            if entry.is_symlink():
                link = os.readlink(entry.path)
                resolved = (Path(entry.path).parent / link).resolve()
                if not resolved.is_relative_to(root):
                    report.outside_symlinks.append(relative)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(link, target)
                report.copied += 1
                continue
            if rules.secret(relative):
                report.secrets.append(relative)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(entry.path, target)
            report.copied += 1
            top = _top(relative)
            report.sizes[top] = report.sizes.get(top, 0) + entry.stat().st_size
    except OSError as exc:
        raise AdaptationError(f"could not copy the solution: {exc.strerror or exc}") from None
    report.ignored = rules.skipped
    return report
