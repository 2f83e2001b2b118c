"""DeploymentFactory: the pipeline from a solution to a running, recorded deployment.

select (if auto) -> adapt -> build the runner -> deploy -> health-check -> record. A failure at
any step undoes the earlier ones: no half-made workspace, no orphan record, no stray process.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from deployer.deployment.locks import deployment_lock
from deployer.deployment.plan import DeploymentPlan
from deployer.deployment.software import DeployedSoftware, remove_files, remove_version_files
from deployer.deployment.state import StateStore, write_private_json
from deployer.errors import (
    DeployerError,
    DeployFailedError,
    NameTakenError,
    StateError,
    StrategyNotFoundError,
    StrategyUnavailableError,
    UsageError,
    one_line,
    usage_error_from,
)
from deployer.models import (
    NAME_PATTERN,
    DeployConfig,
    DeploymentInfo,
    DeploymentSetting,
    Owner,
    Resources,
    SolutionResult,
)
from deployer.paths import deployer_home, failed_dir, version_dir
from deployer.repo.solution import check_solution_path
from deployer.runtime.processes import is_alive, pid_start_time
from deployer.runtime.runner import Runner, RunnerContext
from deployer.runtime.server import stop_marked

if TYPE_CHECKING:  # imported where used: `deployer run` never loads the adapter or selector
    from deployer.plugins.registry import Strategy, StrategyRegistry

Progress = Callable[[str], None]
ENV_FILE = "env.json"
DEFAULT_KEEP = 3


def _quiet(_: str) -> None:
    """Default progress sink: say nothing."""


def default_name(solution: SolutionResult) -> str:
    base = re.sub(r"[^a-z0-9_.-]+", "-", solution.code_path.name.lower()).strip("-._")
    base = (base or "solution")[:50]
    return f"{base}-{uuid.uuid4().hex[:6]}"


class DeploymentFactory:
    """Creates deployments and reattaches to recorded ones."""

    def __init__(
        self, registry: StrategyRegistry | None = None, store: StateStore | None = None
    ) -> None:
        if registry is not None:
            self.registry = registry
        if store is not None:
            self.store = store

    # Made on first use (the registry import stays out of `deployer run`); assignable.
    @cached_property
    def registry(self) -> StrategyRegistry:
        from deployer.plugins.registry import StrategyRegistry

        return StrategyRegistry()

    @cached_property
    def store(self) -> StateStore:
        return StateStore()

    def choose(self, config: DeployConfig) -> DeploymentSetting:
        """The strategy to use: the selector's pick for "auto", else the user's (checked)."""
        return self._choose(config)[0]

    def _choose(self, config: DeployConfig) -> tuple[DeploymentSetting, Strategy]:
        if config.strategy == "auto":
            from deployer.selector.agent import SelectorAgent

            selector = SelectorAgent(
                self.registry,
                model=config.llm_model,
                use_cache=config.llm_cache,
                secrets=config.env,
            )
            setting = selector.select(config.solution, config.allowed_strategies)
            return setting, self.registry.get_strategy(setting.strategy)
        strategy = self.registry.get_strategy(config.strategy)
        allowed = config.allowed_strategies
        if allowed is not None and config.strategy not in allowed:
            raise StrategyNotFoundError(
                f"strategy {config.strategy!r} is not in the allowed list ({', '.join(allowed)})"
            )
        setting = DeploymentSetting(
            strategy=strategy.name,
            reasoning=f"{strategy.name} was chosen by the user",
            resources=strategy.config.default_resources,
            interface=strategy.config.interface,
            source="user",
        )
        return setting, strategy

    def plan(self, config: DeployConfig, progress: Progress = _quiet) -> DeploymentPlan:
        """Resolve everything about a deploy once: strategy, options, availability, runner
        class, name, resources. Raises before anything is made when the deploy cannot work."""
        solution = config.solution.model_copy(
            update={"code_path": check_solution_path(config.solution.code_path)}
        )
        progress("selecting a strategy")
        setting, strategy = self._choose(config.model_copy(update={"solution": solution}))
        options = strategy.config.resolve_options(config.options)
        availability = self.registry.availability(strategy, options, env_keys=config.env)
        if not availability.available:
            raise StrategyUnavailableError(
                f"strategy {strategy.name!r} is unavailable here: {availability.reason}",
                hint=availability.hint or None,
            )
        runner_class = self.registry.get_runner_class(strategy, options)
        name = config.name or default_name(solution)
        if not NAME_PATTERN.fullmatch(name):
            raise DeployFailedError(f"generated deployment name {name!r} is invalid")
        return DeploymentPlan(
            solution=solution,
            setting=setting,
            strategy=strategy,
            options=options,
            availability=availability,
            runner_class=runner_class,
            name=name,
            resources=_merge_resources(setting.resources, config.resources),
        )

    def create(
        self, config: DeployConfig, progress: Progress = _quiet, keep: int = DEFAULT_KEEP
    ) -> DeployedSoftware:
        """Deploy; a name that exists gets a new version, made live only once it is healthy
        (see deployment/versions.py), with `keep` older versions kept on disk."""
        plan = self.plan(config, progress)
        if plan.name in self.store.names():
            from deployer.deployment.versions import redeploy

            return redeploy(self, plan, config, progress, keep)
        info = self.new_info(plan, config, version=1)
        try:
            self.store.reserve(info)
        except NameTakenError:
            raise busy_error(plan.name) from None  # another command created it meanwhile
        self.store.add_event(info.name, 1, "created")
        with deployment_lock(plan.name):
            return self._deploy(plan, config, info, progress)

    def new_info(self, plan: DeploymentPlan, config: DeployConfig, version: int) -> DeploymentInfo:
        """The record of a version about to be made (status `deploying`, owned by us)."""
        from deployer.repo.fingerprint import source_hash  # ignore rules: not on `run`'s path

        strategy = plan.strategy
        return DeploymentInfo(
            name=plan.name,
            strategy=strategy.name,
            provider=strategy.config.provider,
            source_path=plan.source,
            reasoning=plan.setting.reasoning,
            options=plan.options,
            resources=plan.resources,
            env_keys=sorted(config.env),
            capabilities=list(strategy.config.capabilities),
            run_timeout=config.run_timeout,
            startup_timeout=config.startup_timeout,
            owner=Owner(pid=os.getpid(), started=pid_start_time(os.getpid())),
            version=version,
            source_hash=source_hash(plan.source, config.include),
        )

    def _deploy(
        self, plan: DeploymentPlan, config: DeployConfig, info: DeploymentInfo, progress: Progress
    ) -> DeployedSoftware:
        def record(current: DeploymentInfo) -> None:
            self.store.save(current)

        try:
            runner = self.bring_up(plan, config, info, progress, record)
        except BaseException:
            _undo(None, info, self.store)
            raise
        info.status = "running"
        info.owner = None
        info.runner_state = dict(runner.state)
        info.endpoint = runner.endpoint
        info.provider = runner.provider or info.provider
        info.input_schema = schema_of(runner)
        self.store.save(info)
        self.store.save_version(info, "running")
        return DeployedSoftware(
            info, runner, self.store, reattach=self.attach, discard=self.discard_version
        )

    def bring_up(
        self,
        plan: DeploymentPlan,
        config: DeployConfig,
        info: DeploymentInfo,
        progress: Progress,
        record: Callable[[DeploymentInfo], None],
    ) -> Runner:
        """Adapt, build and start one version and wait until it is healthy, recording each
        step as an event and the record with `record`. On failure everything this version
        made is released, its logs are kept (see `keep_failed_logs`) and the error names
        where they are."""
        from deployer.adapter.agent import AdapterAgent, AdaptRequest

        strategy, name, store = plan.strategy, plan.name, self.store
        runner: Runner | None = None
        loading = False
        info.runner_class = f"{plan.runner_class.__module__}:{plan.runner_class.__qualname__}"

        def on_state(state: dict[str, Any]) -> None:
            nonlocal loading
            info.runner_state = dict(state)
            record(info)
            if state.get("pid") and not loading:
                loading = True
                store.add_event(name, info.version, "loading")

        try:
            store.add_event(name, info.version, "adapting")
            progress(f"adapting {plan.source.name} for {strategy.name}")
            request = AdaptRequest(
                entrypoint=config.entrypoint,
                name=name,
                options=plan.options,
                coding_agent=config.coding_agent,
                adaptation=config.adaptation,
                llm_model=config.llm_model,
                env=config.env,
                include=config.include,
            )
            adaptation = AdapterAgent(self.registry).adapt(
                plan.solution, plan.setting, request, plan=plan, progress=progress
            )
            info.adapted_path = adaptation.adapted_path
            info.run_interface = adaptation.run_interface
            info.left_out = adaptation.left_out
            record(info)
            runtime_dir = version_dir(name, info.version)
            if config.env:
                write_private_json(runtime_dir / ENV_FILE, json.dumps(config.env))
            context = runner_context(info, config.env, progress)
            context.on_state = on_state
            runner = plan.runner_class(context, {})
            store.add_event(name, info.version, "building")
            progress(f"deploying {name} with {strategy.name}")
            runner.deploy()
            progress("checking health")
            if not runner.is_healthy():
                raise DeployFailedError(f"deployment {name!r} started but is not healthy")
        except BaseException as exc:
            if runner is not None:
                # already failing: the original error is the one to report
                with contextlib.suppress(Exception):
                    runner.remove()
            kept = keep_failed_logs(name, info.version)
            with contextlib.suppress(DeployerError):
                store.add_event(name, info.version, "failed", one_line(exc))
            if not isinstance(exc, Exception):
                raise
            error = (
                exc
                if isinstance(exc, DeployerError)
                else DeployFailedError(
                    f"deploying {name!r} with {strategy.name} failed: {type(exc).__name__}: {exc}"
                )
            )
            if kept is not None:  # the runner's "full log" hint names a path undone now
                earlier = error.hint if error.hint and "full log" not in error.hint else None
                error.hint = f"log of the failed attempt: {kept}" + (
                    f"; {earlier}" if earlier else ""
                )
            if error is exc:
                raise
            raise error from exc
        store.add_event(name, info.version, "ready")
        return runner

    def attach(self, name: str) -> DeployedSoftware:
        """Reattach to a recorded deployment (made by this or another process)."""
        info = self.store.get(name)
        if info.status == "deploying" and owner_alive(info.owner):
            raise StateError(
                f"deployment {name!r} is still being deployed (by process {info.owner.pid})",
                hint="wait for that deploy to finish",
            )
        if info.run_interface is None or info.adapted_path is None:
            raise StateError(
                f"deployment {name!r} never finished deploying",
                hint=f"remove it with: deployer rm {name}",
            )
        return DeployedSoftware(
            info, self.runner_for(info), self.store, reattach=self.attach,
            discard=self.discard_version,
        )  # fmt: skip

    def runner_for(self, info: DeploymentInfo) -> Runner:
        """The runner of a recorded version (live or not), with its recorded state."""
        runner_class = recorded_runner_class(info) or self.registry.get_runner_class(
            info.strategy, info.options
        )
        return runner_class(runner_context(info, read_env(info)), info.runner_state)

    def discard_version(self, info: DeploymentInfo) -> None:
        """Release what a dropped version still holds on its platform (a stopped container
        and its image); a version whose runner cannot be loaded any more is only forgotten."""
        if not info.runner_state or info.adapted_path is None or info.run_interface is None:
            return
        with contextlib.suppress(Exception):
            self.runner_for(info).discard()

    def list(self) -> list[DeploymentInfo]:
        return self.store.list()

    def remove(self, name: str, force: bool = False) -> list[int]:
        """Remove a deployment; with `force`, drop the record even if its runner cannot load.
        A name with no record is an error either way. Returns the pids of processes that
        would not stop (none, normally)."""
        if name not in self.store.names():
            self.store.get(name)  # raises DeploymentNotFoundError with the known names
        try:
            return self.attach(name).remove()
        except DeployerError:
            if not force:
                raise
            with contextlib.suppress(DeployerError):
                for record in self.store.versions(name):
                    remove_version_files(record.info)
            with contextlib.suppress(DeployerError):
                remove_files(self.store.get(name))
            self.store.delete(name)
            with contextlib.suppress(DeployerError):
                return stop_marked(str(deployer_home()), name)
            return []


def recorded_runner_class(info: DeploymentInfo) -> type[Runner] | None:
    """The runner class recorded at deploy, imported directly: reattaching (every `deployer
    run`) then skips entry-point discovery and config parsing. None when there is no record of
    it or it moved (an upgraded package): the registry finds it then."""
    if not info.runner_class:
        return None
    import importlib

    module_name, _, qualname = info.runner_class.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
    except Exception:
        return None
    return found if isinstance(found, type) and issubclass(found, Runner) else None


def schema_of(runner: Runner) -> dict[str, Any] | None:
    """The runner's input schema, recorded at deploy; a runner that fails to say is no reason
    to fail a deployment that is healthy."""
    try:
        return runner.schema()
    except Exception:
        return None


def owner_alive(owner: Owner | None) -> bool:
    """Whether the process that is making a deployment still runs."""
    return owner is not None and is_alive(owner.pid, owner.started)


def _merge_resources(default: Resources, wished: Resources) -> Resources:
    return default.model_copy(update=wished.model_dump(exclude_none=True))


def runner_context(
    info: DeploymentInfo, env: dict[str, str], progress: Progress | None = None
) -> RunnerContext:
    """What a runner is built from, for a recorded (or just adapted) deployment."""
    assert info.adapted_path is not None and info.run_interface is not None
    return RunnerContext(
        name=info.name,
        adapted_path=info.adapted_path,
        run_interface=info.run_interface,
        runtime_dir=version_dir(info.name, info.version),
        version=info.version,
        options=info.options,
        env=env,
        resources=info.resources,
        run_timeout=info.run_timeout,
        startup_timeout=info.startup_timeout,
        progress=progress,
    )


def read_env(info: DeploymentInfo) -> dict[str, str]:
    """The environment values a version was deployed with (kept owner-only beside it)."""
    path = version_dir(info.name, info.version) / ENV_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise StateError(f"the environment file of {info.name!r} is unreadable: {path}") from None
    return {str(k): str(v) for k, v in data.items()}


def keep_failed_logs(name: str, version: int) -> Path | None:
    """Copy the logs of a failed attempt where undoing it will not delete them (the last
    failed attempt of each name is kept); the main log's path, or None when there was none."""
    try:
        source = version_dir(name, version)
        logs = sorted(p for p in source.glob("*.log") if p.is_file())
        if not logs:
            return None
        target = failed_dir(name)
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True, exist_ok=True)
        for log in logs:
            shutil.copy2(log, target / log.name)
    except (OSError, DeployerError):
        return None
    main = target / "server.log"
    return main if main.is_file() else target / logs[0].name


def busy_error(name: str) -> StateError:
    return StateError(
        f"deployment {name!r} is being changed by another deployer command",
        hint="wait for it to finish, then try again",
    )


def _undo(runner: Runner | None, info: DeploymentInfo, store: StateStore) -> None:
    if runner is not None:
        # already failing: the original error is the one to report
        with contextlib.suppress(Exception):
            runner.remove()
    remove_files(info, keep_failed=True)  # the error names the failed attempt's kept log
    store.delete(info.name)


def deploy(
    path_or_solution: str | Path | SolutionResult,
    strategy: str = "auto",
    *,
    name: str | None = None,
    goal: str = "",
    entrypoint: str | None = None,
    env: dict[str, str] | None = None,
    resources: Resources | dict[str, Any] | None = None,
    allowed_strategies: Iterable[str] | None = None,
    startup_timeout: float = 300.0,
    run_timeout: float = 300.0,
    registry: StrategyRegistry | None = None,
    progress: Progress = _quiet,
    llm_model: str | None = None,
    llm_cache: bool = True,
    coding_agent: str | None = None,
    adaptation: str = "auto",
    keep: int = DEFAULT_KEEP,
    **options: Any,
) -> DeployedSoftware:
    """Deploy a solution in one call; extra keyword arguments are strategy options.

    `llm_model` (default $DEPLOYER_LLM_MODEL) lets a model choose the strategy and drive the
    llm-editor agent; `coding_agent` adapts repositories the templates cannot (or always, with
    `adaptation="agent"`). A `name` that exists gets a new version, live once healthy; `keep`
    older versions stay on disk for `rollback`.

    >>> with deploy("examples/hello", mode="inprocess") as software:
    ...     software.run({"name": "Ada"})
    """
    if isinstance(path_or_solution, SolutionResult):
        solution = path_or_solution
    elif isinstance(path_or_solution, str | Path):
        solution = SolutionResult(code_path=Path(path_or_solution), goal=goal)
    else:
        raise UsageError(
            f"deploy() needs a path or a SolutionResult, got {type(path_or_solution).__name__}"
        )
    try:
        config = DeployConfig(
            solution=solution,
            strategy=strategy,
            allowed_strategies=list(allowed_strategies) if allowed_strategies is not None else None,
            entrypoint=entrypoint,
            env=env or {},
            resources=Resources.model_validate(resources or {}),
            options=options,
            name=name,
            startup_timeout=startup_timeout,
            run_timeout=run_timeout,
            llm_model=llm_model,
            llm_cache=llm_cache,
            coding_agent=coding_agent,
            adaptation=adaptation,
        )
    except ValidationError as exc:
        raise usage_error_from(exc) from None
    return DeploymentFactory(registry).create(config, progress, keep=keep)


def attach(name: str) -> DeployedSoftware:
    """Reattach to a recorded deployment by name."""
    return DeploymentFactory().attach(name)
