"""The schema of a strategy's `config.yaml`, validated strictly.

Unknown keys and wrong types are errors that name the file and the key, so a strategy author
finds a typo at load time instead of as a silently ignored setting.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from deployer.errors import OptionError, PluginError, validation_parts
from deployer.models import EntryKind, Resources

API_VERSION = 1
# libyaml's loader where present: ten times faster than the pure-Python one, same safety.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
STRATEGY_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
RUNNER_PATH_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class OptionSpec(_Strict):
    """One strategy-specific option (`--option key=value`)."""

    type: Literal["string", "integer", "number", "boolean", "choice"] = "string"
    choices: list[str] | None = None
    default: Any = None
    description: str = ""
    minimum: float | None = Field(default=None, description="Lowest value of a number/integer")
    maximum: float | None = Field(default=None, description="Highest value of a number/integer")

    def coerce(self, key: str, value: Any) -> Any:
        """Turn a CLI string (or a Python value) into the declared type, or explain why not."""
        try:
            if self.type == "choice":
                text = str(value)
                if self.choices is None or text not in self.choices:
                    raise ValueError(f"expected one of {', '.join(self.choices or [])}")
                return text
            if self.type == "boolean":
                if isinstance(value, bool):
                    return value
                text = str(value).strip().lower()
                if text in {"1", "true", "yes", "on"}:
                    return True
                if text in {"0", "false", "no", "off"}:
                    return False
                raise ValueError("expected true or false")
            if self.type == "integer":
                if isinstance(value, bool):
                    raise ValueError("expected an integer")
                return self._bounded(int(value))
            if self.type == "number":
                number = float(value)
                if math.isnan(number) or math.isinf(number):
                    raise ValueError("expected a finite number")
                return self._bounded(number)
            return str(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise OptionError(f"option {key!r}: bad value {value!r}: {exc}") from None

    def _bounded(self, number: float) -> Any:
        if self.minimum is not None and number < self.minimum:
            raise ValueError(f"expected at least {self.minimum:g}")
        if self.maximum is not None and number > self.maximum:
            raise ValueError(f"expected at most {self.maximum:g}")
        return number


class Requirements(_Strict):
    """What must be present for the strategy to work here; checked without importing SDKs."""

    binaries: list[str] = Field(default_factory=list)
    python_modules: list[str] = Field(default_factory=list)
    env_all: list[str] = Field(default_factory=list, description="All must be set")
    env_any: list[str] = Field(default_factory=list, description="At least one must be set")


class Signals(_Strict):
    """Evidence that a solution fits this strategy; each weight adds to the score when matched."""

    baseline: float = 0.0
    dependencies: dict[str, float] = Field(default_factory=dict)
    imports: dict[str, float] = Field(default_factory=dict)
    files: dict[str, float] = Field(default_factory=dict, description="glob pattern -> weight")
    code_patterns: dict[str, float] = Field(
        default_factory=dict, description="literal text in .py files -> weight"
    )
    goal_words: dict[str, float] = Field(default_factory=dict)
    gpu: float = Field(
        default=0.0,
        description="Added when the solution's manifest asks for a GPU (cog.yaml build.gpu, "
        "Truss resources.accelerator/use_gpu): positive where GPUs can be had, negative where not",
    )


class RunInterfaceDefaults(_Strict):
    kind: Literal["function", "http"] = "function"
    http_path: str | None = None


class StrategyConfig(_Strict):
    """A strategy's `config.yaml`."""

    api_version: int
    name: str
    summary: str
    provider: str
    interface: str
    runner: str | dict[str, str] = Field(
        description="'module:Class' of the Runner, imported only when used; or, for a strategy "
        "with several targets, a mapping from each value of `target_option` to its class"
    )
    target_option: str | None = Field(
        default=None, description="The choice option whose value picks the runner class"
    )
    description: str = ""
    default_resources: Resources = Field(default_factory=Resources)
    run_interface: RunInterfaceDefaults = Field(default_factory=RunInterfaceDefaults)
    requirements: Requirements = Field(default_factory=Requirements)
    signals: Signals = Field(default_factory=Signals)
    options: dict[str, OptionSpec] = Field(default_factory=dict)
    capabilities: list[str] = Field(default_factory=list)
    entry_kinds: list[EntryKind] | dict[str, list[EntryKind]] = Field(
        default_factory=lambda: ["function"],
        description="The entry kinds the strategy can run (function, class, graph, asgi, wsgi, "
        "modal_function, gradio); or, per value of `target_option`, a mapping",
    )
    entry_loader: bool = Field(
        default=False,
        description="The strategy's generated wrapper loads the entry point through core's "
        "serving runtime (deployer_runtime.embedded): every adapted workspace then gets the "
        "runtime and the entry spec, so the copy runs on its own (langgraph build, bentoml "
        "build, modal deploy)",
    )
    refused_entry_kinds: dict[EntryKind, str] = Field(
        default_factory=dict,
        description="Why the strategy does not run an entry kind it leaves out of entry_kinds "
        "(one line each); deploy tells it when it refuses such an entry point",
    )
    required_files: list[str] = Field(
        default_factory=list, description="Files an adapted workspace must contain"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not STRATEGY_NAME_PATTERN.fullmatch(value):
            raise ValueError("must match [a-z][a-z0-9_]*")
        return value

    @field_validator("runner")
    @classmethod
    def _runner(cls, value: str | dict[str, str]) -> str | dict[str, str]:
        paths = value.values() if isinstance(value, dict) else [value]
        if not paths:
            raise ValueError("names no runner class")
        for path in paths:
            if not RUNNER_PATH_PATTERN.match(path):
                raise ValueError(f"{path!r} must look like 'package.module:ClassName'")
        return value

    @model_validator(mode="after")
    def _targets(self) -> StrategyConfig:
        """One class per target: the mapping's keys are exactly the target option's choices."""
        if isinstance(self.runner, str):
            if self.target_option is not None:
                raise ValueError("target_option needs runner to map each target to a class")
            return self
        spec = self.options.get(self.target_option or "")
        if spec is None or spec.type != "choice":
            raise ValueError(
                "runner maps targets to classes: target_option must name a choice option"
            )
        if set(spec.choices or []) != set(self.runner):
            raise ValueError(
                f"runner targets {sorted(self.runner)} differ from the choices of "
                f"{self.target_option!r}: {sorted(spec.choices or [])}"
            )
        return self

    def runner_path(self, options: dict[str, Any]) -> str:
        """The 'module:Class' of the runner for these (resolved or partial) options."""
        if isinstance(self.runner, str):
            return self.runner
        assert self.target_option is not None
        target = options.get(self.target_option) or self.options[self.target_option].default
        return self.runner[str(target)]

    def entry_kinds_for(self, options: dict[str, Any]) -> list[str]:
        """The entry kinds the strategy runs with these options (its target's, if mapped)."""
        if isinstance(self.entry_kinds, list):
            return list(self.entry_kinds)
        target = (options or {}).get(self.target_option or "")
        if target is None and self.target_option in self.options:
            target = self.options[self.target_option].default
        return list(self.entry_kinds.get(str(target), ["function"]))

    def all_entry_kinds(self) -> list[str]:
        """Every entry kind the strategy runs with one target or another."""
        if isinstance(self.entry_kinds, list):
            return list(self.entry_kinds)
        return sorted({kind for kinds in self.entry_kinds.values() for kind in kinds})

    def runner_paths(self) -> list[str]:
        """Every runner class the strategy names, one per target."""
        return list(self.runner.values()) if isinstance(self.runner, dict) else [self.runner]

    def resolve_options(self, given: dict[str, Any]) -> dict[str, Any]:
        """Validate user options against the declared ones and fill in defaults."""
        unknown = sorted(set(given) - set(self.options))
        if unknown:
            valid = ", ".join(sorted(self.options)) or "none"
            raise OptionError(
                f"strategy {self.name!r} has no option {unknown[0]!r}",
                hint=f"valid options: {valid}",
            )
        resolved = {key: spec.default for key, spec in self.options.items()}
        for key, value in given.items():
            resolved[key] = self.options[key].coerce(key, value)
        return resolved


def parse_strategy_config(text: str, source: str) -> StrategyConfig:
    """Parse and validate config.yaml text; errors name `source` and the offending key."""
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise PluginError(f"{source}: not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise PluginError(f"{source}: expected a mapping of keys, got {type(data).__name__}")
    version = data.get("api_version")
    if isinstance(version, int) and version > API_VERSION:
        raise PluginError(
            f"{source}: needs deployer api_version {version}, this core supports {API_VERSION}",
            hint="upgrade deployer-core: pip install -U deployer-core",
        )
    try:
        return StrategyConfig.model_validate(data)
    except ValidationError as exc:
        key, message, more = validation_parts(exc)
        raise PluginError(f"{source}: key {key or '(top level)'!r}: {message}{more}") from None
