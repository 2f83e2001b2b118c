"""AdapterAgent: makes an adapted copy of a solution for a strategy.

The template layer (this module) copies the solution into a fresh workspace, resolves the entry
point, renders the strategy's templates into the copy and validates the result. The original
solution directory is only ever read.

When the templates cannot apply (no entry point, or several) and a coding agent is configured,
or when the user asks for one (`adaptation="agent"`), a coding agent adapts the copy instead
(`deployer.agents`, imported only then), guided by the strategy's adapter instruction.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import string
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deployer.entrypoints import describe_entrypoint, module_file, resolve_entrypoint
from deployer.errors import (
    AdaptationError,
    DeployerError,
    EntrypointError,
    SolutionError,
    UsageError,
)
from deployer.models import AdaptationResult, DeploymentSetting, RunInterface, SolutionResult
from deployer.paths import cache_dir, deployment_dir, workspaces_dir
from deployer.registry import Strategy, StrategyRegistry
from deployer.resources import walk_files

IGNORED_NAMES = {
    ".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".nox", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", "node_modules", ".ipynb_checkpoints", ".DS_Store",
    ".eggs", "dist", "build", ".langgraph_api",
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
    flags = 0  # string.Template's default is IGNORECASE: $DEPLOYER_PORT must stay as it is


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
        coding_agent: str | None = None,
        adaptation: str = "auto",
        llm_model: str | None = None,
        env: dict[str, str] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> AdaptationResult:
        """Adapt a copy of the solution. `coding_agent` (default: $DEPLOYER_CODING_AGENT) is
        used when the templates cannot apply, or always with `adaptation="agent"`; never with
        `adaptation="templates"`. `env` is the deployment's environment: its names may be told
        to an agent, its values are secrets that never reach a prompt or a log."""
        from deployer.agents import configured_agent

        source = check_solution_path(solution.code_path)
        strategy = self.registry.get_strategy(setting.strategy)
        resolved_options = strategy.config.resolve_options(options or {})
        if adaptation not in {"auto", "templates", "agent"}:
            raise UsageError(f"adaptation must be auto, templates or agent, not {adaptation!r}")
        agent_name = configured_agent(coding_agent)
        label = name or source.name.lower().replace(" ", "-") or "solution"
        target = workspace or workspaces_dir() / f"{label}-{uuid.uuid4().hex[:8]}"
        if target.exists():
            raise AdaptationError(f"workspace {target} exists already")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        log_path: Path | None = None
        try:
            work = staging / "ws"
            copy_solution(source, work)
            reason = ""
            if adaptation == "agent":
                reason = "the user asked for a coding agent to adapt this repository"
                agent_name = agent_name or _default_agent(llm_model)
            else:
                try:
                    chosen = resolve_entrypoint(work, entrypoint)
                except EntrypointError as exc:
                    if adaptation == "templates" or entrypoint or agent_name is None:
                        if adaptation == "auto" and not entrypoint:
                            exc.hint = (exc.hint or "") + (
                                "; or let a coding agent adapt it: --agent NAME "
                                "(deployer agents lists them)"
                            )
                        raise
                    problem = exc.message.replace(f" in {work}", "").replace(str(work), ".")
                    reason = (
                        "deployer's templates cannot adapt this repository by themselves: "
                        f"{problem}. Give it one clear entry point."
                    )
            if reason:
                assert agent_name is not None
                log_path = (
                    deployment_dir(name) / "adaptation.log"
                    if name
                    else workspaces_dir() / f"{target.name}.adaptation.log"
                )
                interface, changed, notes = self._adapt_with_agent(
                    agent_name, solution, strategy, work, source, reason, label,
                    resolved_options, entrypoint, llm_model, env or {}, log_path, progress,
                )  # fmt: skip
            else:
                interface = describe_entrypoint(work, chosen)
                defaults = strategy.config.run_interface
                interface.kind = defaults.kind
                interface.http_path = defaults.http_path
                context = template_context(
                    label, chosen, interface.calling_convention, resolved_options
                )
                changed, notes = _render_templates(strategy, work, context)
                notes.extend(_validate(strategy, work, chosen, changed))
                smoke = self.registry.smoke_check(strategy.name, work, interface)
                if smoke:
                    raise AdaptationError(f"the {strategy.name} smoke check failed: {smoke}")
            os.replace(work, target)
        except DeployerError as exc:
            if log_path is not None:
                _keep_failed_log(log_path, label, exc)
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
            method="coding_agent" if reason else "templates",
            validation=notes,
            agent=agent_name if reason else None,
            log_path=log_path,
        )

    def _adapt_with_agent(
        self,
        agent_name: str,
        solution: SolutionResult,
        strategy: Strategy,
        work: Path,
        source: Path,
        reason: str,
        label: str,
        options: dict[str, Any],
        entrypoint: str | None,
        llm_model: str | None,
        env: dict[str, str],
        log_path: Path,
        progress: Callable[[str], None] | None,
    ) -> tuple[RunInterface, list[str], list[str]]:
        from deployer.agents.base import AgentLog
        from deployer.agents.driver import AgentAdaptation
        from deployer.digest import goal_from_readme
        from deployer.llm import configured_model, secret_values

        secrets = secret_values(env)
        outcome = AgentAdaptation(
            agent_name=agent_name,
            registry=self.registry,
            strategy=strategy,
            work=work,
            source=source,
            goal=solution.goal.strip() or goal_from_readme(source),
            reason=reason,
            label=label,
            options=options,
            log=AgentLog(log_path, secrets),
            model=configured_model(llm_model),
            entrypoint=entrypoint,
            env_keys=sorted(env),
            secrets=secrets,
            progress=progress or (lambda step: None),
        ).run()
        notes = [f"adapted by the coding agent {agent_name}", *outcome.notes]
        return outcome.interface, outcome.changed, notes


def _default_agent(llm_model: str | None) -> str:
    from deployer.llm import configured_model

    if configured_model(llm_model):
        return "llm-editor"
    raise UsageError(
        "a coding agent was asked for, but none is chosen and no model is configured",
        hint="pass --agent NAME (deployer agents lists them), or --model for llm-editor",
    )


def _keep_failed_log(log_path: Path, label: str, error: DeployerError) -> None:
    """A failed deployment's directory is removed: keep the agent's log where users find it."""
    if not log_path.is_file():
        return
    kept = cache_dir("failed-adaptations") / f"{label}-{uuid.uuid4().hex[:6]}.log"
    try:
        shutil.move(str(log_path), kept)
    except OSError:
        return
    error.hint = f"{error.hint + '; ' if error.hint else ''}the coding agent's log: {kept}"
    error.hint = error.hint.replace(f"see the adaptation log: {log_path}; ", "")


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
