"""Rendering a strategy's templates into a workspace: `$deployer_*` placeholders only."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

from deployer.errors import AdaptationError
from deployer.plugins.registry import Strategy
from deployer.plugins.resources import walk_files

TEMPLATE_SUFFIX = ".tmpl"


class _TemplateText(string.Template):
    """Only `$deployer_*` names are placeholders, so `$HOME` in a Dockerfile stays as it is."""

    pattern = r"""
    \$(?:
      (?P<escaped>(?!)) |
      (?P<named>deployer_[a-z0-9_]+) |
      {(?P<braced>deployer_[a-z0-9_]+)} |
      (?P<invalid>(?!))
    )
    """
    flags = 0  # string.Template's default is IGNORECASE: $DEPLOYER_PORT must stay as it is


def template_context(
    name: str, interface_entrypoint: str, convention: str, options: dict[str, Any]
) -> dict[str, str]:
    module, _, function = interface_entrypoint.partition(":")
    context = {
        "deployer_name": name,
        "deployer_entrypoint": interface_entrypoint,
        "deployer_entry_module": module,
        "deployer_entry_function": function,
        "deployer_calling_convention": convention,
    }
    for key, value in options.items():
        context[f"deployer_option_{key}"] = "" if value is None else str(value)
    return context


def render_templates(
    strategy: Strategy, work: Path, context: dict[str, str]
) -> tuple[list[str], list[str]]:
    changed: list[str] = []
    notes: list[str] = []
    root = work.resolve()
    for relative, resource in walk_files(strategy.templates):
        render = relative.endswith(TEMPLATE_SUFFIX)
        out_relative = relative[: -len(TEMPLATE_SUFFIX)] if render else relative
        unresolved = work / out_relative
        if unresolved.exists() or unresolved.is_symlink():
            notes.append(f"kept the solution's own {out_relative}")
            continue
        destination = unresolved.resolve()
        if not destination.is_relative_to(root):
            raise AdaptationError(f"template {relative} would write outside the workspace")
        destination.parent.mkdir(parents=True, exist_ok=True)
        if render:
            text = resource.read_text(encoding="utf-8")
            try:
                rendered = _TemplateText(text).substitute(context)
            except KeyError as exc:
                raise AdaptationError(
                    f"template {strategy.package}/templates/{relative} uses unknown "
                    f"placeholder ${exc.args[0]}"
                ) from None
            destination.write_text(rendered, encoding="utf-8")
        else:
            destination.write_bytes(resource.read_bytes())
        changed.append(out_relative)
    return changed, notes
