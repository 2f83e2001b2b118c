"""The schema of a strategy's `config.yaml`, validated strictly.

Unknown keys and wrong types are errors that name the file and the key, so a strategy author
finds a typo at load time instead of as a silently ignored setting.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from deployer.errors import OptionError, PluginError
from deployer.models import Resources

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
                return int(value)
            if self.type == "number":
                return float(value)
            return str(value)
        except (TypeError, ValueError) as exc:
            raise OptionError(f"option {key!r}: bad value {value!r}: {exc}") from None


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
    runner: str = Field(description="'module:Class' of the Runner, imported only when used")
    description: str = ""
    default_resources: Resources = Field(default_factory=Resources)
    run_interface: RunInterfaceDefaults = Field(default_factory=RunInterfaceDefaults)
    requirements: Requirements = Field(default_factory=Requirements)
    signals: Signals = Field(default_factory=Signals)
    options: dict[str, OptionSpec] = Field(default_factory=dict)
    capabilities: list[str] = Field(default_factory=list)
    required_files: list[str] = Field(
        default_factory=list, description="Files an adapted workspace must contain"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not STRATEGY_NAME_PATTERN.match(value):
            raise ValueError("must match [a-z][a-z0-9_]*")
        return value

    @field_validator("runner")
    @classmethod
    def _runner(cls, value: str) -> str:
        if not RUNNER_PATH_PATTERN.match(value):
            raise ValueError("must look like 'package.module:ClassName'")
        return value

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
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise PluginError(f"{source}: key {key!r}: {message}{more}") from None
