"""AdapterAgent: makes an adapted copy of a solution for a strategy.

The template layer (this module) copies the solution into a fresh workspace, resolves the entry
point, renders the strategy's templates into the copy and validates the result. The original
solution directory is only ever read.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import string
import tempfile
import uuid
from pathlib import Path
from typing import Any

from deployer.entrypoints import describe_entrypoint, module_file, resolve_entrypoint
from deployer.errors import AdaptationError, DeployerError, SolutionError
from deployer.models import AdaptationResult, DeploymentSetting, SolutionResult
from deployer.paths import workspaces_dir
from deployer.registry import Strategy, StrategyRegistry
from deployer.resources import walk_files

IGNORED_NAMES = {
    ".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".nox", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", "node_modules", ".ipynb_checkpoints", ".DS_Store",
    ".eggs", "dist", "build",
}  # fmt: skip
IGNORED_PATTERNS = ("*.pyc", "*.pyo", "*.egg-info")
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


def check_solution_path(path: Path) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise SolutionError(f"solution path {path} does not exist")
    if not path.is_dir():
        raise SolutionError(f"solution path {path} is not a directory")
    return path.resolve()


def _ignore(directory: str, names: list[str]) -> set[str]:
    ignored = {n for n in names if n in IGNORED_NAMES}
    ignored |= {n for n in names for p in IGNORED_PATTERNS if fnmatch.fnmatch(n, p)}
    for name in names:  # any virtual environment, whatever its name
        if (Path(directory) / name / "pyvenv.cfg").is_file():
            ignored.add(name)
    return ignored


def copy_solution(source: Path, destination: Path) -> None:
    """Copy the solution without VCS data, virtual environments or caches."""
    try:
        shutil.copytree(source, destination, ignore=_ignore, symlinks=True)
    except (OSError, shutil.Error) as exc:
        raise AdaptationError(f"could not copy {source}: {exc}") from None


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


class AdapterAgent:
    """Adapts solutions for strategies; `adapt` never writes outside the new workspace."""

    def __init__(self, registry: StrategyRegistry | None = None) -> None:
        self.registry = registry or StrategyRegistry()

    def adapt(
        self,
        solution: SolutionResult,
        setting: DeploymentSetting,
        *,
        entrypoint: str | None = None,
        name: str | None = None,
        options: dict[str, Any] | None = None,
        workspace: Path | None = None,
    ) -> AdaptationResult:
        source = check_solution_path(solution.code_path)
        strategy = self.registry.get_strategy(setting.strategy)
        resolved_options = strategy.config.resolve_options(options or {})
        label = name or source.name.lower().replace(" ", "-") or "solution"
        target = workspace or workspaces_dir() / f"{label}-{uuid.uuid4().hex[:8]}"
        if target.exists():
            raise AdaptationError(f"workspace {target} exists already")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            work = staging / "ws"
            copy_solution(source, work)
            chosen = resolve_entrypoint(work, entrypoint)
            interface = describe_entrypoint(work, chosen)
            defaults = strategy.config.run_interface
            interface.kind = defaults.kind
            interface.http_path = defaults.http_path
            context = template_context(
                label, chosen, interface.calling_convention, resolved_options
            )
            changed, notes = _render_templates(strategy, work, context)
            notes.extend(_validate(strategy, work, chosen, changed))
            os.replace(work, target)
        except DeployerError:
            raise
        except Exception as exc:
            raise AdaptationError(f"adapting {source} for {strategy.name!r} failed: {exc}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return AdaptationResult(
            strategy=strategy.name,
            source_path=source,
            adapted_path=target,
            run_interface=interface,
            files_changed=changed,
            method="templates",
            validation=notes,
        )


def _render_templates(
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


def _validate(strategy: Strategy, work: Path, entrypoint: str, changed: list[str]) -> list[str]:
    notes: list[str] = []
    missing = [f for f in strategy.config.required_files if not (work / f).exists()]
    if missing:
        raise AdaptationError(
            f"adapted workspace for {strategy.name!r} lacks {', '.join(missing)}",
            hint="the strategy's templates should provide these files",
        )
    notes.extend(f"{f} present" for f in strategy.config.required_files)
    for relative in changed:
        if not relative.endswith(".py"):
            continue
        try:
            compile((work / relative).read_text(encoding="utf-8"), relative, "exec")
        except (SyntaxError, UnicodeDecodeError) as exc:
            raise AdaptationError(f"rendered file {relative} does not compile: {exc}") from None
        notes.append(f"{relative} compiles")
    module = entrypoint.partition(":")[0]
    if module_file(work, module) is None:
        raise AdaptationError(f"entry point module {module!r} is missing from the workspace")
    notes.append(f"entry point {entrypoint} defined")
    return notes
