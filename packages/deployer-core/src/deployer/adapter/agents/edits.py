"""The structured edit format the LLM editor answers in, parsed strictly and applied safely.

Two kinds of block, each marker on a line of its own; text outside blocks is ignored:

    <<<<<<< WRITE path/relative/to/workspace.py
    the whole new content of the file
    >>>>>>> END

    <<<<<<< SEARCH path/relative/to/workspace.py
    lines that occur exactly once in the file now
    =======
    the lines that replace them
    >>>>>>> REPLACE

Paths are relative to the workspace. An edit whose path is absolute, contains `..`, or leads out
of the workspace through a symlink is refused (and reported), never applied.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

WRITE_START = re.compile(r"^<{7} WRITE (?P<path>\S.*?)\s*$")
SEARCH_START = re.compile(r"^<{7} SEARCH (?P<path>\S.*?)\s*$")
WRITE_END = ">>>>>>> END"
DIVIDER = "======="
REPLACE_END = ">>>>>>> REPLACE"
MARKER = re.compile(r"^(<{7}|>{7}|={7})(\s|$)")

FORMAT_HELP = """\
Edit files only with these blocks (each marker on a line of its own, paths relative to the
workspace root, no fences around the blocks):

To create a file or replace all of it:
<<<<<<< WRITE path/to/file.py
the complete new content
>>>>>>> END

To change part of an existing file (the SEARCH lines must occur exactly once in it):
<<<<<<< SEARCH path/to/file.py
the exact current lines
=======
the new lines
>>>>>>> REPLACE"""


class EditFormatError(ValueError):
    """The reply does not follow the edit format."""


class EditRefused(ValueError):
    """The edit would touch a path outside the workspace."""


@dataclass
class Edit:
    kind: Literal["write", "replace"]
    path: str
    content: str = ""
    search: str = ""
    line: int = 0  # where the block starts in the reply, for messages


@dataclass
class EditReport:
    changed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [*self.refused, *self.failed]


def parse_edits(text: str) -> list[Edit]:
    """The edit blocks in a reply, in order. Malformed blocks raise EditFormatError."""
    lines = text.splitlines()
    edits: list[Edit] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        start = index + 1
        if match := WRITE_START.match(line):
            body, index = _collect(lines, index + 1, (WRITE_END,), start, "WRITE")
            edits.append(Edit("write", match["path"], content=_join(body), line=start))
            continue
        if match := SEARCH_START.match(line):
            search, index = _collect(lines, index + 1, (DIVIDER,), start, "SEARCH")
            replace, index = _collect(lines, index, (REPLACE_END,), start, "SEARCH")
            edits.append(
                Edit("replace", match["path"], search="\n".join(search),
                     content="\n".join(replace), line=start)
            )  # fmt: skip
            continue
        if MARKER.match(line):
            raise EditFormatError(
                f"line {start}: unexpected marker {line.strip()!r} outside a WRITE or SEARCH block"
            )
        index += 1
    return edits


def _collect(
    lines: list[str], index: int, ends: tuple[str, ...], start: int, kind: str
) -> tuple[list[str], int]:
    body: list[str] = []
    while index < len(lines):
        line = lines[index]
        if line.rstrip() in ends:
            return body, index + 1
        if kind == "SEARCH" and MARKER.match(line):
            raise EditFormatError(
                f"line {index + 1}: unexpected {line.strip()!r} in the SEARCH block that starts "
                f"at line {start} (expected {' or '.join(ends)})"
            )
        body.append(line)
        index += 1
    raise EditFormatError(
        f"the {kind} block that starts at line {start} is not closed with {' or '.join(ends)}"
    )


def _join(body: list[str]) -> str:
    return "\n".join(body) + "\n" if body else ""


def safe_target(root: Path, relative: str) -> Path:
    """The absolute path `relative` names inside root; EditRefused if it leads anywhere else."""
    if not relative or "\x00" in relative:
        raise EditRefused(f"refused edit of {relative!r}: empty or invalid path")
    if "\\" in relative:
        raise EditRefused(f"refused edit of {relative!r}: use forward slashes")
    pure = PurePosixPath(relative)
    if pure.is_absolute() or relative.startswith("~") or re.match(r"^[A-Za-z]:", relative):
        raise EditRefused(f"refused edit of {relative!r}: absolute path outside the workspace")
    if ".." in pure.parts:
        raise EditRefused(f"refused edit of {relative!r}: '..' leads outside the workspace")
    base = root.resolve()
    current = base
    for part in pure.parts:
        if part == ".":
            continue
        current = current / part
        if current.is_symlink():
            target = current.resolve()
            if not target.is_relative_to(base):
                shown = current.relative_to(base).as_posix()
                raise EditRefused(
                    f"refused edit of {relative!r}: {shown} is a symlink leading out of the "
                    f"workspace (to {target})"
                )
    final = (base / pure).resolve()
    if not final.is_relative_to(base) or final == base:
        raise EditRefused(f"refused edit of {relative!r}: it does not name a file in the workspace")
    return final


def apply_edits(root: Path, edits: list[Edit]) -> EditReport:
    """Apply edits in order. Refused and failed edits are reported; the others are applied."""
    report = EditReport()
    base = root.resolve()
    for edit in edits:
        try:
            target = safe_target(base, edit.path)
        except EditRefused as exc:
            report.refused.append(str(exc))
            continue
        relative = target.relative_to(base).as_posix()
        try:
            if edit.kind == "write":
                _write(target, edit.content)
            else:
                if not target.is_file():
                    raise ValueError(f"{relative} does not exist (create it with a WRITE block)")
                text = target.read_text(encoding="utf-8")
                if not edit.search.strip():
                    raise ValueError("the SEARCH part is empty")
                count = text.count(edit.search)
                if count != 1:
                    where = "does not occur" if count == 0 else f"occurs {count} times"
                    raise ValueError(f"the SEARCH text {where} in {relative}")
                _write(target, text.replace(edit.search, edit.content, 1))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            report.failed.append(f"edit of {edit.path} (line {edit.line}) failed: {exc}")
            continue
        if relative not in report.changed:
            report.changed.append(relative)
    return report


def _write(target: Path, content: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.deployer-tmp")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, target)


def outside_symlinks(root: Path) -> list[str]:
    """Symlinks under root that lead out of it (an external agent may have made them)."""
    base = root.resolve()
    found: list[str] = []
    for directory, dirnames, filenames in os.walk(base):
        for name in [*dirnames, *filenames]:
            path = Path(directory) / name
            if path.is_symlink() and not path.resolve().is_relative_to(base):
                found.append(path.relative_to(base).as_posix())
    return sorted(found)
