"""Finds strategy plugins through the entry point group `deployer.strategies`.

Our own loader, not pluggy's `load_setuptools_entrypoints`: every entry point gets one record
(name, distribution, version, status, reason, hint), a broken plugin is reported and skipped
while the others keep working, and two distributions claiming one name are both shown as a
conflict instead of the first silently winning. Runner modules (and their SDKs) are imported
only by `get_runner_class`, when a strategy is actually used.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.abc import Traversable
from importlib.metadata import EntryPoint
from importlib.resources import files
from typing import TYPE_CHECKING, Any, Literal

import pluggy
from packaging.utils import canonicalize_name
from pydantic import BaseModel

from deployer.errors import PluginError, StrategyNotFoundError
from deployer.modules import module_installed
from deployer.plugins import hookspecs
from deployer.plugins.hookspecs import Availability, CodingAgentSpec, StrategyPackage
from deployer.plugins.strategy_config import StrategyConfig, parse_strategy_config

if TYPE_CHECKING:
    from pathlib import Path

    from deployer.models import RunInterface
    from deployer.runtime.runner import Runner

ENTRY_POINT_GROUP = "deployer.strategies"
INSTRUCTION_FILES = ("selector_instruction.md", "adapter_instruction.md")
PluginStatus = Literal["ok", "broken", "invalid", "conflict"]
_SECRET_WORDS = re.compile(r"secret|token|key|password|passwd|credential", re.IGNORECASE)


class PluginRecord(BaseModel):
    """What `deployer strategies` shows for one entry point."""

    name: str
    package: str | None = None
    version: str | None = None
    module: str
    status: PluginStatus = "ok"
    reason: str = ""
    hint: str = ""
    summary: str = ""
    provider: str = ""
    available: bool = False


@dataclass
class Strategy:
    """A loaded, valid strategy: its config, its instructions and where its templates are."""

    record: PluginRecord
    config: StrategyConfig
    selector_instruction: str
    adapter_instruction: str
    package: str
    plugin: Any = field(repr=False, default=None)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def templates(self) -> Traversable:
        return files(self.package) / "templates"


def _normalise(dist_name: str) -> str:
    return canonicalize_name(dist_name)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _strict() -> bool:
    return os.environ.get("DEPLOYER_STRICT_PLUGINS", "") not in {"", "0", "false"}


def _redact(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: "***" if _SECRET_WORDS.search(k) else v for k, v in kwargs.items()}


def _trace_hooks(pm: pluggy.PluginManager) -> None:
    def before(hook_name: str, impls: list, kwargs: dict[str, Any]) -> None:
        plugins = ", ".join(pm.get_name(impl.plugin) or "?" for impl in impls)
        print(f"[deployer hook] {hook_name}({_redact(kwargs)}) -> {plugins}", file=sys.stderr)

    def after(outcome: Any, hook_name: str, impls: list, kwargs: dict[str, Any]) -> None:
        error = outcome.exception
        status = f"raised {_one_line(error)}" if error else "ok"
        print(f"[deployer hook] {hook_name} {status}", file=sys.stderr)

    pm.add_hookcall_monitoring(before, after)


def default_entry_points() -> list[EntryPoint]:
    from importlib.metadata import entry_points

    return list(entry_points(group=ENTRY_POINT_GROUP))


class StrategyRegistry:
    """The installed strategies, loaded lazily and fault-tolerantly.

    `entry_points` may be a list of entry points or a callable returning them; tests pass their
    own (including broken plugins) instead of relying on what is installed.
    """

    def __init__(
        self,
        entry_points: Iterable[EntryPoint] | Callable[[], Iterable[EntryPoint]] | None = None,
        enabled: Iterable[str] | None = None,
    ) -> None:
        self._source = entry_points if entry_points is not None else default_entry_points
        if enabled is None:
            env = os.environ.get("DEPLOYER_STRATEGIES", "").strip()
            enabled = [part.strip() for part in env.split(",") if part.strip()] if env else None
        self._enabled = set(enabled) if enabled is not None else None
        self._entry_points: dict[str, list[EntryPoint]] | None = None
        self._loaded: dict[str, list[PluginRecord]] = {}
        self._strategies: dict[str, Strategy] = {}
        self._availability: dict[str, Availability] = {}
        self.plugin_manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.plugin_manager.add_hookspecs(hookspecs)
        if os.environ.get("DEPLOYER_TRACE_HOOKS", "") not in {"", "0"}:
            _trace_hooks(self.plugin_manager)

    # -- discovery ---------------------------------------------------------------------------

    def _grouped(self) -> dict[str, list[EntryPoint]]:
        if self._entry_points is None:
            source = self._source() if callable(self._source) else self._source
            grouped: dict[str, list[EntryPoint]] = {}
            for ep in source:
                if self._enabled is not None and ep.name not in self._enabled:
                    continue
                grouped.setdefault(ep.name, []).append(ep)
            self._entry_points = grouped
        return self._entry_points

    def names(self) -> list[str]:
        """Names of installed entry points (enabled ones), without loading any."""
        return sorted(self._grouped())

    def records(self) -> list[PluginRecord]:
        """One record per entry point, loading every plugin; never raises (unless strict)."""
        out: list[PluginRecord] = []
        for name in self.names():
            out.extend(self._load(name))
        return out

    def _load(self, name: str) -> list[PluginRecord]:
        if name in self._loaded:
            return self._loaded[name]
        eps = self._grouped().get(name, [])
        if len(eps) > 1:
            records = [self._conflict_record(ep, eps) for ep in eps]
            if _strict():
                raise PluginError(records[0].reason, records[0].hint)
        else:
            records = [self._load_one(eps[0])] if eps else []
        self._loaded[name] = records
        return records

    def _conflict_record(self, ep: EntryPoint, eps: list[EntryPoint]) -> PluginRecord:
        others = sorted({_dist_label(other) for other in eps})
        return PluginRecord(
            name=ep.name,
            package=_dist_name(ep),
            version=_dist_version(ep),
            module=ep.value,
            status="conflict",
            reason=f"strategy name {ep.name!r} is registered by {len(eps)} entry points: "
            + ", ".join(others),
            hint="keep one: pip uninstall "
            + " or pip uninstall ".join(sorted({_dist_name(e) or e.value for e in eps})),
        )

    def _load_one(self, ep: EntryPoint) -> PluginRecord:
        record = PluginRecord(
            name=ep.name, package=_dist_name(ep), version=_dist_version(ep), module=ep.value
        )
        reinstall = f"pip install --force-reinstall {record.package}" if record.package else ""
        try:
            strategy = self._build_strategy(ep, record)
        except _Invalid as problem:
            record.status = problem.status
            record.reason = problem.reason
            record.hint = problem.hint or (
                f"fix or uninstall the plugin ({reinstall or 'remove its entry point'})"
            )
            if _strict():
                raise PluginError(f"plugin {ep.name!r}: {record.reason}", record.hint) from (
                    problem.__cause__
                )
            return record
        record.summary = strategy.config.summary
        record.provider = strategy.config.provider
        self._strategies[ep.name] = strategy
        record.available = self.availability(strategy).available
        return record

    def _build_strategy(self, ep: EntryPoint, record: PluginRecord) -> Strategy:
        pm = self.plugin_manager
        try:
            plugin = ep.load()
        except Exception as exc:
            raise _Invalid("broken", f"import failed: {_one_line(exc)}") from exc
        try:
            pm.register(plugin, name=ep.name)
        except Exception as exc:
            raise _Invalid("invalid", f"hook validation failed: {_one_line(exc)}") from exc
        try:
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            pm.unregister(plugin)
            raise _Invalid(
                "invalid",
                f"unknown hook: {_one_line(exc)}",
                "hook implementations must be named like the specs in deployer.plugins.hookspecs "
                "(deployer_register_strategy, deployer_register_coding_agents, "
                "deployer_check_availability, deployer_smoke_check)",
            ) from exc
        try:
            package = self._call_for(plugin, "deployer_register_strategy")
        except Exception as exc:
            pm.unregister(plugin)
            raise _Invalid("broken", f"deployer_register_strategy raised {_one_line(exc)}") from exc
        if not isinstance(package, StrategyPackage):
            pm.unregister(plugin)
            raise _Invalid(
                "invalid",
                "deployer_register_strategy must return deployer.StrategyPackage, got "
                f"{type(package).__name__}",
            )
        try:
            strategy = _read_strategy_files(ep, record, package)
        except _Invalid:
            pm.unregister(plugin)
            raise
        strategy.plugin = plugin
        return strategy

    def _call_for(self, plugin: Any, hook_name: str, **kwargs: Any) -> Any:
        """Call one hook on one plugin only, so one plugin's failure cannot break another's."""
        pm = self.plugin_manager
        others = [p for p in pm.get_plugins() if p is not plugin]
        caller = pm.subset_hook_caller(hook_name, remove_plugins=others)
        return caller(**kwargs)

    # -- queries -----------------------------------------------------------------------------

    def list_strategies(self, allowed: Iterable[str] | None = None) -> list[Strategy]:
        """Valid strategies (available or not), optionally limited to `allowed` names."""
        self.records()
        if allowed is None:
            return [self._strategies[name] for name in sorted(self._strategies)]
        wanted = list(dict.fromkeys(allowed))
        unknown = [name for name in wanted if name not in self._strategies]
        if unknown:
            raise StrategyNotFoundError(
                f"unknown strategy {', '.join(repr(n) for n in unknown)} in the allowed list",
                hint=self._installed_hint(),
            )
        return [self._strategies[name] for name in wanted]

    def get_strategy(self, name: str) -> Strategy:
        """One strategy by name, loading only its entry point."""
        if name in self._strategies:
            return self._strategies[name]
        records = self._load(name) if name in self._grouped() else []
        if not records:
            raise StrategyNotFoundError(f"unknown strategy {name!r}", hint=self._installed_hint())
        if name not in self._strategies:
            record = records[0]
            raise PluginError(f"strategy {name!r} cannot be used: {record.reason}", record.hint)
        return self._strategies[name]

    def _strategy(self, strategy: str | Strategy) -> Strategy:
        """A Strategy object as it is, or one looked up by name: callers that already hold
        one (the factory's plan) never look it up again."""
        return strategy if isinstance(strategy, Strategy) else self.get_strategy(strategy)

    def get_runner_class(
        self, strategy: str | Strategy, options: dict[str, Any] | None = None
    ) -> type[Runner]:
        """Import the strategy's runner class for these options (the target option picks one
        class where config.yaml names several), and only now its module."""
        from deployer.runtime.runner import Runner

        strategy = self._strategy(strategy)
        name = strategy.name
        runner_path = strategy.config.runner_path(options or {})
        module_name, _, class_name = runner_path.partition(":")
        try:
            module = importlib.import_module(module_name)
            runner_class = getattr(module, class_name)
        except Exception as exc:
            raise PluginError(
                f"strategy {name!r}: cannot import runner {runner_path}: {_one_line(exc)}",
                hint=f"reinstall {strategy.record.package or 'the plugin'}",
            ) from None
        if not (isinstance(runner_class, type) and issubclass(runner_class, Runner)):
            raise PluginError(f"strategy {name!r}: {runner_path} is not a deployer.Runner subclass")
        return runner_class

    def availability(
        self,
        strategy: str | Strategy,
        options: dict[str, Any] | None = None,
        env_keys: Iterable[str] = (),
    ) -> Availability:
        """Whether the strategy can work here (with these options, or its defaults). Never
        raises. `env_keys` are the names of the deployment's own environment (values are never
        needed), which count as set. Results for the defaults are cached; others are not."""
        name = strategy.name if isinstance(strategy, Strategy) else strategy
        env_keys = sorted(env_keys)
        if options is None and not env_keys and name in self._availability:
            return self._availability[name]
        try:
            strategy = self._strategy(strategy)
            result = _check_requirements(strategy.config, env_keys)
            if result.available and strategy.plugin is not None:
                extra = self._call_for(
                    strategy.plugin,
                    "deployer_check_availability",
                    strategy=name,
                    options=options,
                    env_keys=env_keys,
                )
                if isinstance(extra, Availability):
                    result = extra
        except Exception as exc:
            result = Availability(False, f"availability check failed: {_one_line(exc)}")
        if options is None and not env_keys:
            self._availability[name] = result
        return result

    def coding_agents(self) -> list[CodingAgentSpec]:
        """Coding agents registered by every loaded plugin."""
        return [spec for spec, _ in self.coding_agents_by_plugin()]

    def coding_agents_by_plugin(self) -> list[tuple[CodingAgentSpec, str]]:
        """Coding agents registered by every loaded plugin, each with the distribution (or
        strategy) that registered it."""
        self.records()
        agents: list[tuple[CodingAgentSpec, str]] = []
        for strategy in self._strategies.values():
            try:
                results = self._call_for(strategy.plugin, "deployer_register_coding_agents")
            except Exception:
                if _strict():
                    raise
                continue  # a plugin whose agent hook fails contributes no agents
            source = strategy.record.package or strategy.name
            for group in results:
                agents.extend(
                    (spec, source) for spec in group or [] if isinstance(spec, CodingAgentSpec)
                )
        return agents

    def smoke_check(
        self, strategy: str | Strategy, workspace: Path, run_interface: RunInterface
    ) -> str | None:
        """The strategy's own check of an adapted workspace (`deployer_smoke_check`): None when
        it passes or the strategy has none, else the problem. A raising hook is a problem."""
        strategy = self._strategy(strategy)
        name = strategy.name
        if strategy.plugin is None:
            return None
        try:
            result = self._call_for(
                strategy.plugin,
                "deployer_smoke_check",
                strategy=name,
                workspace=workspace,
                run_interface=run_interface,
            )
        except Exception as exc:
            return f"the smoke check of {name!r} raised {_one_line(exc)}"
        return str(result) if result else None

    def _installed_hint(self) -> str:
        self.records()
        installed = sorted(self._strategies)
        if not installed:
            return "no strategy is installed: pip install deployer-local"
        return "installed strategies: " + ", ".join(installed)


class _Invalid(Exception):
    def __init__(self, status: PluginStatus, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.hint = hint


def _dist_name(ep: EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return dist.metadata["Name"] if dist is not None else None


def _dist_version(ep: EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return dist.version if dist is not None else None


def _dist_label(ep: EntryPoint) -> str:
    name = _dist_name(ep)
    return f"{name} {_dist_version(ep)}" if name else ep.value


def _read_strategy_files(ep: EntryPoint, record: PluginRecord, pkg: StrategyPackage) -> Strategy:
    try:
        root = files(pkg.package)
    except Exception as exc:
        raise _Invalid("invalid", f"package {pkg.package!r} not found: {_one_line(exc)}") from exc
    texts: dict[str, str] = {}
    for filename in ("config.yaml", *INSTRUCTION_FILES):
        resource = root / filename
        if not resource.is_file():
            raise _Invalid("invalid", f"{pkg.package}/{filename} is missing")
        texts[filename] = resource.read_text(encoding="utf-8")
        if filename != "config.yaml" and not texts[filename].strip():
            raise _Invalid("invalid", f"{pkg.package}/{filename} is empty")
    if not (root / "templates").is_dir():
        raise _Invalid("invalid", f"{pkg.package}/templates/ is missing")
    try:
        config = parse_strategy_config(texts["config.yaml"], f"{pkg.package}/config.yaml")
    except PluginError as exc:
        raise _Invalid("invalid", exc.message, exc.hint or "") from exc
    if config.name != ep.name or pkg.name != ep.name:
        raise _Invalid(
            "invalid",
            f"name mismatch: entry point {ep.name!r}, registered {pkg.name!r}, "
            f"config.yaml {config.name!r}",
            "the entry point name, the registered name and config.yaml's name must be equal",
        )
    if record.package and _normalise(record.package) != _normalise(f"deployer-{ep.name}"):
        raise _Invalid(
            "invalid",
            f"distribution {record.package!r} should be named 'deployer-{ep.name}'",
            "strategy packages are published as deployer-<name>",
        )
    return Strategy(
        record=record,
        config=config,
        selector_instruction=texts["selector_instruction.md"],
        adapter_instruction=texts["adapter_instruction.md"],
        package=pkg.package,
    )


def _check_requirements(config: StrategyConfig, env_keys: Iterable[str] = ()) -> Availability:
    """config.yaml's requirements; variables are looked for in the shell's environment and
    among the names the deployment itself is given (`--env`, `--env-file`)."""
    given = set(env_keys)

    def is_set(key: str) -> bool:
        return key in given or bool(os.environ.get(key))

    req = config.requirements
    for binary in req.binaries:
        if shutil.which(binary) is None:
            return Availability(
                False, f"the {binary!r} program is not on PATH", f"install {binary}"
            )
    for module in req.python_modules:
        if not module_installed(module):
            return Availability(
                False,
                f"the Python package {module!r} is not installed",
                f"pip install 'deployer-{config.name}[{module}]' or pip install {module}",
            )
    missing = [key for key in req.env_all if not is_set(key)]
    if missing:
        return Availability(False, f"environment variable {missing[0]} is not set")
    if req.env_any and not any(is_set(key) for key in req.env_any):
        return Availability(False, f"none of {', '.join(req.env_any)} is set")
    return Availability(True)
