"""The solution's dependencies as one flat requirements file for the image.

The Dockerfile installs `deployer-requirements.txt`, written here before each build from the
solution's `requirements.txt` (with `-r` includes inlined, so the file stands alone in
the image) and `pyproject.toml` `[project] dependencies`. Local paths cannot be installed from
inside the image and are refused with one clear error.

To be replaced by core's requirement reader (`deployer/repo/requirements.py`, on packaging)
when it lands: today this is one of three readers (with core's digest and venvs).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from deployer.plugin import DeployFailedError

OUTPUT_FILE = "deployer-requirements.txt"
# pip options about where packages come from: meaningful inside the image (without the
# wheelhouse) but replaced by --no-index --find-links with it.
_INDEX_OPTIONS = (
    "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host",
    "--pre", "--prefer-binary", "--only-binary", "--no-binary",
)  # fmt: skip
_MAX_DEPTH = 10


@dataclass
class Requirements:
    """Requirement lines (no options) and the index options that went with them."""

    lines: list[str] = field(default_factory=list)
    index_options: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.lines

    def text(self, with_index_options: bool) -> str:
        options = self.index_options if with_index_options else []
        body = [*options, *self.lines]
        return "\n".join(body) + "\n" if body else ""


def _strip_comment(raw: str) -> str:
    line = raw.strip()
    if line.startswith("#"):
        return ""
    return line.split(" #", 1)[0].strip()


def _is_local_path(line: str) -> bool:
    return line.startswith((".", "/", "~", "file:")) or " @ file:" in line


def _read_file(path: Path, out: Requirements, root: Path, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise DeployFailedError(f"requirements include each other too deeply at {path.name}")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DeployFailedError(f"cannot read {path.relative_to(root)}: {exc}") from None
    for raw in text.splitlines():
        line = _strip_comment(raw)
        if not line:
            continue
        option, _, rest = line.partition(" ")
        option, sep, inline = option.partition("=")
        value = (inline if sep else rest).strip()
        if option in {"-r", "--requirement"}:
            included = (path.parent / value).resolve()
            if not included.is_relative_to(root) or not included.is_file():
                raise DeployFailedError(
                    f"{path.name} includes {value!r}, which is not a file in the solution"
                )
            _read_file(included, out, root, depth + 1)
            continue
        if option in {"-e", "--editable"} or _is_local_path(line):
            raise DeployFailedError(
                f"{path.name}: {line!r} points at local files, which the docker strategy "
                "cannot install inside the image",
                hint="publish the package to an index, or list its own dependencies instead",
            )
        if line.startswith("-"):
            if option in {"-c", "--constraint"}:
                raise DeployFailedError(
                    f"{path.name}: constraint files (-c) are not supported by the docker strategy",
                    hint="pin the versions in requirements.txt instead",
                )
            if option in _INDEX_OPTIONS:
                out.index_options.append(line)
                continue
            raise DeployFailedError(
                f"{path.name}: the pip option {option!r} is not supported by the docker strategy"
            )
        out.lines.append(line)


def read_requirements(workspace: Path) -> Requirements:
    """Everything the solution declares, flattened; raises DeployFailedError on what cannot
    be installed inside an image."""
    root = workspace.resolve()
    out = Requirements()
    requirements = root / "requirements.txt"
    if requirements.is_file():
        _read_file(requirements, out, root, 0)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise DeployFailedError(f"pyproject.toml is not valid TOML: {exc}") from None
        listed = data.get("project", {}).get("dependencies", [])
        if not isinstance(listed, list) or not all(isinstance(d, str) for d in listed):
            raise DeployFailedError(
                "pyproject.toml: [project] dependencies must be a list of strings"
            )
        for item in listed:
            if _is_local_path(item):
                raise DeployFailedError(
                    f"pyproject.toml: dependency {item!r} points at local files, which the "
                    "docker strategy cannot install inside the image"
                )
            out.lines.append(item.strip())
    out.lines = list(dict.fromkeys(out.lines))
    out.index_options = list(dict.fromkeys(out.index_options))
    return out
