"""`deployer new-strategy`: writes a complete, installable strategy package.

The files come from `scaffold_files/` (package data): `__package__` and `__name__` in paths
and `$name`-style placeholders in text are filled in; `$$` stands for a literal `$`.
"""

from __future__ import annotations

import re
import string
from importlib.resources import files
from pathlib import Path

from deployer.errors import UsageError
from deployer.plugins.resources import walk_files
from deployer.plugins.strategy_config import STRATEGY_NAME_PATTERN


def scaffold_context(name: str, summary: str | None = None) -> dict[str, str]:
    if not STRATEGY_NAME_PATTERN.fullmatch(name):
        raise UsageError(
            f"strategy name {name!r} must match [a-z][a-z0-9_]*",
            hint="lowercase letters, digits and underscores, starting with a letter",
        )
    return {
        "name": name,
        "name_dash": name.replace("_", "-"),
        "package": f"deployer_{name}",
        "class_name": "".join(part.capitalize() for part in name.split("_")),
        "summary": summary or f"Deploy solutions with {name}.",
    }


def new_strategy(name: str, directory: Path, summary: str | None = None) -> Path:
    """Write `deployer-<name>/` under directory and return its path. Never overwrites."""
    context = scaffold_context(name, summary)
    target = Path(directory) / f"deployer-{context['name_dash']}"
    if target.exists():
        raise UsageError(f"{target} exists already", hint="choose another directory or name")
    written: list[Path] = []
    for relative, resource in walk_files(files("deployer.cli") / "scaffold_files"):
        if not relative.endswith(".tpl"):
            continue
        out = relative[: -len(".tpl")].replace("__package__", context["package"])
        out = re.sub(r"__name__", name, out)
        text = string.Template(resource.read_text(encoding="utf-8")).substitute(context)
        path = target / out
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return target
