"""AdapterAgent: makes an adapted copy of a solution for a strategy.

The template layer (this module) copies the solution into a fresh workspace, resolves the entry
point, renders the strategy's templates into the copy and validates the result. The original
solution directory is only ever read. Where the templates are to be used, the entry point is
first resolved on the source itself (read-only), so a repository without one is refused in
one line naming the user's path before a large tree is copied.

When the templates cannot apply (no entry point, or several) and a coding agent is configured,
or when the user asks for one (`adaptation="agent"`), a coding agent adapts the copy instead
(`deployer.adapter.agents`, imported only then), guided by the strategy's adapter instruction.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployer.adapter.staging import mark_staging_owner, sweep_stale_staging
from deployer.adapter.templates import render_templates, template_context
from deployer.adapter.validation import validate_adaptation
from deployer.errors import AdaptationError, DeployerError, EntrypointError, UsageError
from deployer.models import (
    ENTRYPOINT_PATTERN,
    AdaptationResult,
    DeploymentSetting,
    RunInterface,
    SolutionResult,
)
from deployer.paths import cache_dir, deployment_dir, workspaces_dir
from deployer.plugins.registry import Strategy, StrategyRegistry
from deployer.repo.entrypoints import (
    declared_entrypoint,
    describe_entrypoint,
)
from deployer.repo.ignore import copy_solution
from deployer.repo.shapes import describe, resolve_candidate
from deployer.repo.solution import check_solution_path
from deployer.runtime.serving_install import install_entry_loader

if TYPE_CHECKING:
    from deployer.deployment.plan import DeploymentPlan

ADAPTATIONS = ("auto", "templates", "agent")


@dataclass
class AdaptRequest:
    """What the user asked of the adaptation (everything but the solution and the strategy)."""

    entrypoint: str | None = None
    name: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    workspace: Path | None = None
    coding_agent: str | None = None
    adaptation: str = "auto"
    llm_model: str | None = None
    env: dict[str, str] = field(default_factory=dict, repr=False)
    include: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.options = dict(self.options or {})
        self.env = dict(self.env or {})
        self.include = list(self.include or [])


class AdapterAgent:
    """Adapts solutions for strategies; `adapt` never writes outside the new workspace."""

    def __init__(self, registry: StrategyRegistry | None = None) -> None:
        self.registry = registry or StrategyRegistry()

    def adapt(
        self,
        solution: SolutionResult,
        setting: DeploymentSetting,
        request: AdaptRequest | None = None,
        *,
        plan: DeploymentPlan | None = None,
        progress: Callable[[str], None] | None = None,
        **wishes: Any,
    ) -> AdaptationResult:
        """Adapt a copy of the solution. `wishes` are the fields of `AdaptRequest` (a shortcut
        for callers without one). The factory passes its `plan`, so the strategy, its options
        and the checked path are not resolved a second time.

        The coding agent (`request.coding_agent`, default $DEPLOYER_CODING_AGENT) is used when
        the templates cannot apply, or always with `adaptation="agent"`; never with
        `adaptation="templates"`. `request.env` values are secrets: their names may be told to
        an agent, their values never reach a prompt or a log."""
        from deployer.adapter.agents import configured_agent

        request = request or AdaptRequest(**wishes)
        entrypoint, name, llm_model = request.entrypoint, request.name, request.llm_model
        adaptation = request.adaptation
        if plan is not None:
            source, strategy, resolved_options = plan.source, plan.strategy, plan.options
        else:
            source = check_solution_path(solution.code_path)
            strategy = self.registry.get_strategy(setting.strategy)
            resolved_options = strategy.config.resolve_options(request.options)
        if adaptation not in ADAPTATIONS:
            raise UsageError(f"adaptation must be auto, templates or agent, not {adaptation!r}")
        agent_name = configured_agent(request.coding_agent)
        label = name or source.name.lower().replace(" ", "-") or "solution"
        target = request.workspace or workspaces_dir() / f"{label}-{uuid.uuid4().hex[:8]}"
        if target.exists():
            raise AdaptationError(f"workspace {target} exists already")
        kinds = strategy.config.entry_kinds_for(resolved_options)
        refusals = dict(strategy.config.refused_entry_kinds)
        runners = runners_by_kind(self.registry)

        def detect(root: Path) -> tuple[str, RunInterface | None]:
            return detected_entry(root, entrypoint, source, kinds, strategy.name, refusals, runners)

        if adaptation != "agent":  # read-only, on the source: no copy of a tree that cannot work
            try:
                chosen, early = detect(source)
                apply_route_option(early or describe_entrypoint(source, chosen), resolved_options)
            except EntrypointError as exc:
                if adaptation == "templates" or entrypoint or agent_name is None:
                    raise _with_agent_hint(exc, adaptation, entrypoint) from None
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale_staging(target.parent)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        mark_staging_owner(staging)
        log_path: Path | None = None
        try:
            work = staging / "ws"
            copied = copy_solution(source, work, request.include)
            reason = ""
            detected: RunInterface | None = None
            if adaptation == "agent":
                reason = "the user asked for a coding agent to adapt this repository"
                agent_name = agent_name or _default_agent(llm_model)
            else:
                try:
                    chosen, detected = detect(work)
                except EntrypointError as exc:
                    if adaptation == "templates" or entrypoint or agent_name is None:
                        raise _with_agent_hint(exc, adaptation, entrypoint) from None
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
                    resolved_options, entrypoint, llm_model, request.env, log_path, progress,
                )  # fmt: skip
            else:
                interface = detected or describe_entrypoint(work, chosen)
                apply_route_option(interface, resolved_options)
                defaults = strategy.config.run_interface
                interface.kind = defaults.kind
                interface.http_path = defaults.http_path
                context = template_context(
                    label, chosen, interface.calling_convention, resolved_options
                )
                changed, notes = render_templates(strategy, work, context)
                notes.extend(validate_adaptation(strategy, work, chosen, changed))
                smoke = self.registry.smoke_check(strategy, work, interface)
                if smoke:
                    raise AdaptationError(f"the {strategy.name} smoke check failed: {smoke}")
            if strategy.config.entry_loader:
                install_entry_loader(work, interface)
                notes.append("serving runtime and entry spec installed (deployer_runtime/)")
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
            left_out=copied.notes(),
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
        from deployer.adapter.agents.base import AgentLog
        from deployer.adapter.agents.driver import AgentAdaptation
        from deployer.llm.client import configured_model, secret_values
        from deployer.repo.digest import goal_from_readme

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
    from deployer.llm.client import configured_model

    if configured_model(llm_model):
        return "llm-editor"
    raise UsageError(
        "a coding agent was asked for, but none is chosen and no model is configured",
        hint="pass --agent NAME (deployer agents lists them), or --model for llm-editor",
    )


def _with_agent_hint(
    exc: EntrypointError, adaptation: str, entrypoint: str | None
) -> EntrypointError:
    if adaptation == "auto" and not entrypoint:
        exc.hint = (exc.hint or "") + (
            "; or let a coding agent adapt it: --agent NAME (deployer agents lists them)"
        )
    return exc


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


WEB_KINDS = ("asgi", "wsgi")
ROUTE_PATTERN = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/{}<>-]*")


def apply_route_option(interface: RunInterface, options: dict[str, Any]) -> None:
    """`--option route=/path`: the web app's POST route `run` posts to, over the one that was
    detected (a web app with several POST routes needs it). Refused for anything that is not
    a web app, and for what is not a plain path, so no query or host can be smuggled in."""
    route = str(options.get("route") or "").strip()
    if not route:
        return
    if interface.entry_kind not in WEB_KINDS:
        raise UsageError(
            f"--option route={route} is for web apps (ASGI or WSGI), and "
            f"{interface.entrypoint} is a {interface.entry_kind}",
            hint="leave the route option out",
        )
    if not ROUTE_PATTERN.fullmatch(route) or ".." in route.split("/"):
        raise UsageError(
            f"--option route={route!r} is not a path like /predict",
            hint="give the app's POST route, starting with /",
        )
    interface.route = route


def _refusal_hint(kind: str, strategy: str, runners_of: dict[str, list[str]] | None) -> str:
    """Which installed strategies do run this kind (when the caller knows them)."""
    wrap = "pass --entrypoint module:function naming a function that wraps it"
    others = [name for name in (runners_of or {}).get(kind, []) if name != strategy]
    if others:
        return f"deploy it with --strategy {' or '.join(others)}, which run a {kind}; or {wrap}"
    if runners_of is not None:
        return f"no installed strategy runs a {kind}; {wrap}"
    return f"deploy it with a strategy that runs a {kind} (see deployer strategies), or {wrap}"


def runners_by_kind(registry: StrategyRegistry) -> dict[str, list[str]]:
    """Entry kind -> the installed strategies that run it (any target)."""
    found: dict[str, list[str]] = {}
    for item in registry.list_strategies():
        for kind in item.config.all_entry_kinds():
            found.setdefault(kind, []).append(item.name)
    return found


def detected_entry(
    work: Path,
    entrypoint: str | None,
    source: Path,
    kinds: list[str],
    strategy: str,
    refusals: dict[str, str] | None = None,
    runners_of: dict[str, list[str]] | None = None,
) -> tuple[str, RunInterface | None]:
    """The entry point and, for anything but a plain function named as before, the
    RunInterface `repo.shapes` read for it (kind, flavor, method, setup, signature, source).
    Explicit and `[tool.deployer]` functions resolve as they always did; everything else goes
    through the manifests and detected candidates, whose errors name the user's directory. A
    kind the strategy cannot run is refused in one line, with the strategy's reason (its
    config.yaml `refused_entry_kinds`) and the way out."""
    explicit = entrypoint or declared_entrypoint(work)
    if explicit and ENTRYPOINT_PATTERN.fullmatch(explicit) and "." not in explicit.split(":")[1]:
        with contextlib.suppress(EntrypointError):
            describe_entrypoint(work, explicit)
            if describe(work, explicit).entry_kind == "function":
                return explicit, None  # a plain top-level function: the templates' own path
            # a `def` that is another kind (a Modal function, a graph factory, a Serve
            # deployment) is recorded as that kind, as it would be when detected
    candidate = resolve_candidate(work, explicit, display=str(source), strict_manifests=False)
    if candidate.entry_kind not in kinds:
        flavor = candidate.flavor
        what = " ".join(filter(None, [flavor, candidate.entry_kind]))
        if flavor and candidate.entry_kind.startswith(flavor):
            what = candidate.entry_kind  # "a modal_function", not "a modal modal_function"
        why = (refusals or {}).get(candidate.entry_kind)
        raise EntrypointError(
            f"{source}: the entry point {candidate.entrypoint} is a {what} "
            f"(from {candidate.source}), which the {strategy} strategy cannot run "
            + (
                f"({why}; it runs: {', '.join(kinds)})" if why else f"(it runs: {', '.join(kinds)})"
            ),
            hint=_refusal_hint(candidate.entry_kind, strategy, runners_of),
        )
    return candidate.entrypoint, candidate.run_interface()
