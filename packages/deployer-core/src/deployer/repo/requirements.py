"""The one reader of requirement lists: requirements files, pyproject dependencies and the
lists manifests state, all parsed with `packaging` (PEP 508), never with regexes.

Includes (`-r`, `-c`) are resolved relative to the including file and refused when they leave
the solution's root, before anything is read: a message never carries an outside file's text.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from deployer.errors import UsageError

MAX_INCLUDE_DEPTH = 10
MAX_FILE_BYTES = 2_000_000
INDEX_OPTIONS = (
    "-i", "--index-url", "--extra-index-url", "--no-index", "-f", "--find-links",
    "--trusted-host", "--pre", "--prefer-binary", "--only-binary", "--no-binary",
)  # fmt: skip
"""pip options about where packages come from: kept as options, never as requirements."""
VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
_COMMENT = re.compile(r"(^|\s+)#.*$")
_OPTION_SPLIT = re.compile(r"\s+(?=--?[A-Za-z])")
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")


class RequirementsError(UsageError):
    """A requirements list or file cannot be read: one line naming the file and what to fix."""


def normalise_name(name: str) -> str:
    """A distribution name in PEP 503 form (`Foo_Bar.baz` -> `foo-bar-baz`)."""
    return canonicalize_name(name)


@dataclass
class RequirementLine:
    """One requirement as pip would read it, with where it was written."""

    text: str
    name: str | None
    source: str
    url: str | None = None
    local_path: str | None = None
    editable: bool = False

    @property
    def local(self) -> bool:
        return self.local_path is not None


@dataclass
class RequirementSet:
    """What a solution declares: requirement lines, constraints, index options, local paths,
    optional extras, the files read and names known only from a tool's own table (Poetry)."""

    requirements: list[RequirementLine] = field(default_factory=list)
    constraints: list[RequirementLine] = field(default_factory=list)
    index_options: list[str] = field(default_factory=list)
    optional: dict[str, list[RequirementLine]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    other_names: set[str] = field(default_factory=set)

    @property
    def lines(self) -> list[str]:
        return [r.text for r in self.requirements]

    @property
    def names(self) -> set[str]:
        named = {r.name for r in self.requirements if r.name}
        return named | self.other_names

    @property
    def local_paths(self) -> list[str]:
        return [r.local_path for r in self.requirements if r.local_path is not None]

    @property
    def empty(self) -> bool:
        return not self.requirements

    def extend(self, other: RequirementSet) -> None:
        seen = {r.text for r in self.requirements}
        self.requirements.extend(r for r in other.requirements if r.text not in seen)
        self.constraints.extend(other.constraints)
        self.index_options.extend(o for o in other.index_options if o not in self.index_options)
        for extra, lines in other.optional.items():
            self.optional.setdefault(extra, []).extend(lines)
        self.files.extend(f for f in other.files if f not in self.files)
        self.other_names |= other.other_names

    def text(self, with_index_options: bool = True) -> str:
        """A requirements file that stands alone (includes inlined)."""
        body = [*(self.index_options if with_index_options else []), *self.lines]
        return "\n".join(body) + "\n" if body else ""


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def display_path(path: Path, root: Path) -> str:
    """path relative to root for messages (its name only when outside)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def _local_target(value: str, base: Path, root: Path, where: str) -> str:
    """The local path `value` (relative to `base`) as a path relative to root; refused when it
    leaves the root."""
    if value.startswith("file:"):
        value = unquote(urlparse(value).path)
    target = (base / Path(value).expanduser()).resolve()
    if not target.is_relative_to(root):
        raise RequirementsError(
            f"{where}: the local path {value!r} is outside the solution",
            hint="keep local packages inside the solution's directory",
        )
    relative = target.relative_to(root).as_posix()
    return relative or "."


def _looks_local(text: str) -> bool:
    return text.startswith((".", "/", "~", "file:")) or text in {"."}


def parse_requirement(
    text: str, source: str, base: Path | None = None, root: Path | None = None
) -> RequirementLine:
    """One PEP 508 requirement, URL (VCS or archive) or local path; base/root resolve paths."""
    text = text.strip()
    editable = False
    if text.startswith(("-e ", "--editable ", "--editable=")):
        editable = True
        text = re.sub(r"^(-e|--editable)[ =]\s*", "", text)
    requirement_part = _OPTION_SPLIT.split(text, maxsplit=1)[0].strip()
    base = base or root
    if _looks_local(requirement_part) or (editable and "://" not in requirement_part):
        if root is None or base is None:
            raise RequirementsError(f"{source}: local path {requirement_part!r} is not allowed")
        local = _local_target(requirement_part.split("#", 1)[0], base, root, source)
        egg = _EGG.search(requirement_part)
        name = normalise_name(egg.group(1)) if egg else None
        written = local if local == "." else f"./{local}"  # relative to root once inlined
        written = f"-e {written}" if editable else written
        return RequirementLine(written, name, source, local_path=local, editable=editable)
    if requirement_part.startswith(VCS_PREFIXES) or re.match(r"^[a-z]+://", requirement_part):
        egg = _EGG.search(requirement_part)
        name = normalise_name(egg.group(1)) if egg else _name_from_archive(requirement_part)
        written = f"-e {text}" if editable else text
        return RequirementLine(written, name, source, url=requirement_part, editable=editable)
    try:
        parsed = Requirement(requirement_part)
    except InvalidRequirement as exc:
        raise RequirementsError(
            f"{source}: {requirement_part[:80]!r} is not a valid requirement ({_first_line(exc)})",
            hint="write it as 'name', 'name==1.2', 'name[extra]>=1; marker' or 'name @ url'",
        ) from None
    line = RequirementLine(text, normalise_name(parsed.name), source, url=parsed.url)
    if parsed.url and parsed.url.startswith("file:") and root is not None:
        line.local_path = _local_target(parsed.url, base or root, root, source)
    return line


def _name_from_archive(url: str) -> str | None:
    filename = urlparse(url).path.rsplit("/", 1)[-1]
    if filename.endswith(".whl"):
        return normalise_name(filename.split("-", 1)[0])
    return None


def parse_requirement_strings(
    items: Iterable[object], source: str, root: Path | None = None
) -> RequirementSet:
    """A manifest's list of requirement strings (cog python_packages, Truss requirements...)."""
    out = RequirementSet()
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise RequirementsError(
                f"{source}: entry {index + 1} must be a string like 'name==1.0', not {item!r}"
            )
        if not item.strip() or item.strip().startswith("#"):
            continue
        if item.strip().startswith(INDEX_OPTIONS):
            out.index_options.append(item.strip())
            continue
        out.requirements.append(parse_requirement(item, source, root, root))
    return out


def read_text_file(path: Path, root: Path, what: str = "file") -> str:
    """A small UTF-8 text file inside root; binary or undecodable -> one line saying so."""
    where = display_path(path, root)
    try:
        data = path.read_bytes()[: MAX_FILE_BYTES + 1]
    except OSError as exc:
        raise RequirementsError(f"cannot read {where}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise RequirementsError(f"{where} is larger than {MAX_FILE_BYTES} bytes: not a {what}")
    if b"\x00" in data:
        raise RequirementsError(f"{where} is a binary file, not a {what}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RequirementsError(f"{where} is not UTF-8 text, so it is not a {what}") from None


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Lines with comments removed and backslash continuations joined, with line numbers."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        line = _COMMENT.sub("", raw) if not raw.rstrip().endswith("\\") else raw
        if line.rstrip().endswith("\\"):
            pending.append(line.rstrip()[:-1])
            continue
        pending.append(line)
        joined = _COMMENT.sub("", " ".join(p.strip() for p in pending)).strip()
        pending = []
        if joined:
            yield start, joined
    if pending:
        joined = _COMMENT.sub("", " ".join(p.strip() for p in pending)).strip()
        if joined:
            yield start, joined


def _option(line: str) -> tuple[str, str]:
    head, sep, rest = line.partition(" ")
    name, eq, inline = head.partition("=")
    if eq:
        return name, (inline + (" " + rest if sep else "")).strip()
    if name.startswith("-") and not name.startswith("--") and len(name) > 2 and not sep:
        return name[:2], name[2:].strip()  # -rfile.txt
    return name, rest.strip()


def parse_requirements_file(
    path: Path, root: Path, _depth: int = 0, _seen: frozenset[Path] = frozenset()
) -> RequirementSet:
    """A pip requirements file under root, with `-r`/`-c` includes inlined."""
    root = root.resolve()
    path = path.resolve() if path.is_absolute() else (root / path).resolve()
    where = display_path(path, root)
    if not path.is_relative_to(root):
        raise RequirementsError(f"{where}: the requirements file is outside the solution")
    if _depth > MAX_INCLUDE_DEPTH or path in _seen:
        raise RequirementsError(f"{where}: requirements files include each other in a loop")
    text = read_text_file(path, root, "requirements file")
    out = RequirementSet(files=[where])
    for number, line in _logical_lines(text):
        source = f"{where}:{number}"
        if not line.startswith("-") or line.startswith(("-e", "--editable")):
            out.requirements.append(parse_requirement(line, source, path.parent, root))
            continue
        option, value = _option(line)
        if option in {"-r", "--requirement", "-c", "--constraint"}:
            if not value:
                raise RequirementsError(f"{source}: {option} needs a file name")
            if "://" in value:
                raise RequirementsError(
                    f"{source}: {option} {value!r} is a URL; only files inside the solution "
                    "can be included",
                )
            included = (path.parent / Path(value).expanduser()).resolve()
            if not included.is_relative_to(root):
                raise RequirementsError(
                    f"{source}: {option} {value!r} points outside the solution; refused",
                    hint="keep included requirement files inside the solution's directory",
                )
            if not included.is_file():
                kind = "constraint file" if option in {"-c", "--constraint"} else "included file"
                raise RequirementsError(f"{source}: {kind} {value!r} ({option}): no such file")
            inner = parse_requirements_file(included, root, _depth + 1, _seen | {path})
            if option in {"-c", "--constraint"}:
                out.constraints.extend(inner.requirements)
                out.files.extend(f for f in inner.files if f not in out.files)
            else:
                out.extend(inner)
            continue
        if option in INDEX_OPTIONS:
            out.index_options.append(line)
            continue
        raise RequirementsError(
            f"{source}: the pip option {option!r} is not supported in a requirements file here",
            hint="remove it, or install that package another way",
        )
    return out


def read_toml(path: Path, root: Path) -> dict:
    """A TOML file under root as a dict; invalid TOML -> one line naming the file and line."""
    text = read_text_file(path, root, "TOML file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RequirementsError(
            f"{display_path(path, root)} is not valid TOML: {_first_line(exc)}",
            hint="fix the syntax at that line",
        ) from None


def _string_list(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RequirementsError(f"{where} must be a list of strings like 'name>=1.0'")
    return value


def read_pyproject_dependencies(root: Path) -> RequirementSet:
    """`[project] dependencies` and optional-dependencies; Poetry dependency names."""
    root = root.resolve()
    path = root / "pyproject.toml"
    if not path.is_file():
        return RequirementSet()
    data = read_toml(path, root)
    out = RequirementSet(files=["pyproject.toml"])
    project = data.get("project", {})
    if not isinstance(project, dict):
        raise RequirementsError("pyproject.toml: [project] must be a table")
    listed = _string_list(project.get("dependencies"), "pyproject.toml: [project] dependencies")
    out.extend(parse_requirement_strings(listed, "pyproject.toml [project] dependencies", root))
    optional = project.get("optional-dependencies", {}) or {}
    if not isinstance(optional, dict):
        raise RequirementsError("pyproject.toml: [project.optional-dependencies] must be a table")
    for extra, items in optional.items():
        where = f"pyproject.toml [project.optional-dependencies] {extra}"
        parsed = parse_requirement_strings(_string_list(items, where), where, root)
        out.optional[str(extra)] = parsed.requirements
    poetry = data.get("tool", {}).get("poetry", {}).get("dependencies", {})
    if isinstance(poetry, dict):
        out.other_names |= {normalise_name(n) for n in poetry if str(n).lower() != "python"}
    return out


def read_requirements(root: Path) -> RequirementSet:
    """requirements.txt (with includes) and pyproject.toml's dependencies, as one set."""
    root = root.resolve()
    out = RequirementSet()
    requirements = root / "requirements.txt"
    if requirements.is_file():
        out.extend(parse_requirements_file(requirements, root))
    out.extend(read_pyproject_dependencies(root))
    return out
