"""The solution's dependencies as one flat requirements file for the image.

The Dockerfile installs `deployer-requirements.txt`, written here before each build from the
solution's `requirements.txt` (with `-r` includes inlined, so the file stands alone in
the image), `pyproject.toml` `[project] dependencies` and what the solution's manifests list
(cog.yaml `build.python_packages`, Truss `requirements`, setup.py, ...), read by core's one
requirements reader (`deployer.repo.requirements` and `deployer.repo.project`, through
`deployer.plugin`). Local paths cannot be
installed from inside the image and are refused with one clear error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from deployer.plugin import DeployFailedError, RequirementsError, manifest_requirements
from deployer.plugin import read_requirements as read_declared

OUTPUT_FILE = "deployer-requirements.txt"


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


def read_requirements(workspace: Path) -> Requirements:
    """Everything the solution declares, flattened (core's packaging-based reader); raises
    DeployFailedError on what cannot be installed inside an image."""
    try:
        declared = read_declared(workspace.resolve())
        declared.extend(manifest_requirements(workspace.resolve()))
    except RequirementsError as exc:
        raise DeployFailedError(exc.message, hint=exc.hint) from None
    if declared.constraints:
        where = declared.constraints[0].source.rsplit(":", 1)[0]
        raise DeployFailedError(
            f"constraint files (-c) are not supported by the docker strategy ({where})",
            hint="pin the versions in requirements.txt instead",
        )
    for requirement in declared.requirements:
        if requirement.local:
            raise DeployFailedError(
                f"{requirement.source}: {requirement.text!r} points at local files, which the "
                "docker strategy cannot install inside the image",
                hint="publish the package to an index, or list its own dependencies instead",
            )
    return Requirements(
        lines=list(dict.fromkeys(declared.lines)),
        index_options=list(dict.fromkeys(declared.index_options)),
    )
