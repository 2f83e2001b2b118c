"""The data that flows through the pipeline. All pydantic v2, all serialisable to JSON."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
ENTRYPOINT_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)?$")
"""`module:name` or `module:Class.method`."""

EntryKind = Literal[
    "function", "class", "graph", "asgi", "wsgi", "modal_function", "gradio", "serve_app"
]
"""What the entry point is: the serving runtime's loader knows how to call each kind."""


def _now() -> datetime:
    return datetime.now(UTC)


class DeferredModel(BaseModel):
    """deployer's data records. Their validators are built on first use, not at import:
    a command touches a few of them (`deployer run` reads one DeploymentInfo), and building
    them all was half of `import deployer.models`."""

    model_config = ConfigDict(defer_build=True)


class Resources(DeferredModel):
    """What a deployment may use. Strategies that cannot enforce a field ignore it."""

    model_config = ConfigDict(extra="forbid")

    cpu: float | None = Field(default=None, gt=0, description="CPU cores")
    memory: str | None = Field(default=None, description="Memory, e.g. '512Mi' or '2Gi'")
    gpu: str | None = Field(default=None, description="GPU type or count, e.g. 'T4' or '1'")


class SolutionResult(DeferredModel):
    """A solution to deploy: read-only input, nothing ever writes into `code_path`."""

    code_path: Path
    goal: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("code_path")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()


class DeployConfig(DeferredModel):
    """A solution plus the user's wishes."""

    solution: SolutionResult
    strategy: str = "auto"
    allowed_strategies: list[str] | None = None
    entrypoint: str | None = None
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Environment for the solution. Values are secrets: never stored or logged.",
    )
    resources: Resources = Field(default_factory=Resources)
    options: dict[str, Any] = Field(default_factory=dict)
    include: list[str] = Field(
        default_factory=list,
        description="gitignore patterns of files to ship although they look like secrets or "
        "match the ignore rules",
    )
    name: str | None = None
    startup_timeout: float = Field(
        default=300.0, gt=0, allow_inf_nan=False, description="Seconds to become healthy"
    )
    run_timeout: float = Field(
        default=300.0, gt=0, allow_inf_nan=False, description="Seconds one run may take"
    )
    coding_agent: str | None = Field(
        default=None, description="Coding agent for repositories the templates cannot adapt"
    )
    llm_model: str | None = Field(
        default=None,
        description="litellm model string (default: $DEPLOYER_LLM_MODEL; none: offline)",
    )
    llm_cache: bool = Field(default=True, description="Reuse cached LLM answers for the same input")
    adaptation: Literal["auto", "templates", "agent"] = Field(
        default="auto",
        description="auto: templates when the entry point is clear, else the coding agent if one "
        "is configured; templates: never an agent; agent: always the coding agent",
    )

    @field_validator("entrypoint")
    @classmethod
    def _entrypoint_shape(cls, value: str | None) -> str | None:
        if value is not None and not ENTRYPOINT_PATTERN.fullmatch(value):
            raise ValueError(
                f"entry point {value!r} must look like 'module:function' or 'module:Class.method'"
            )
        return value

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str | None) -> str | None:
        if value is not None and not NAME_PATTERN.fullmatch(value):
            raise ValueError(
                f"deployment name {value!r} must be lowercase letters, digits, '-', '_' or '.', "
                "starting with a letter or digit (at most 63 characters)"
            )
        return value


class StrategyScore(DeferredModel):
    """One strategy's place in the ranking, with the evidence that scored it."""

    strategy: str
    score: float
    available: bool
    reasons: list[str] = Field(default_factory=list)
    unavailable_reason: str | None = None


class Parameter(DeferredModel):
    """One input of the entry point, read from its signature (annotations, defaults, Cog's
    `Input(...)`), used for the typed input schema."""

    name: str
    annotation: str | None = Field(default=None, description="The annotation as written")
    required: bool = True
    default: Any = None
    description: str | None = None
    choices: list[Any] | None = None
    ge: float | None = None
    le: float | None = None


class RunInterface(DeferredModel):
    """How the adapted solution is called."""

    kind: Literal["function", "http"] = "function"
    entrypoint: str = Field(description="'module:function' inside the adapted workspace")
    calling_convention: Literal["dict", "kwargs"] = Field(
        default="kwargs",
        description="'dict': the function gets the input dict; 'kwargs': its keys as arguments",
    )
    parameters: list[str] = Field(default_factory=list, description="Parameter names, in order")
    http_path: str | None = None
    endpoint: str | None = Field(default=None, description="Declared by a coding agent, if any")
    entry_kind: EntryKind = Field(default="function", description="What the entry point is")
    flavor: str | None = Field(
        default=None,
        description="Whose convention a class or object follows: cog, truss, mlflow, bentoml, "
        "langgraph, fastapi, flask, gradio, modal, plain",
    )
    method: str | None = Field(default=None, description="The method called on a class")
    setup: list[str] = Field(
        default_factory=list, description="Methods called once at start-up, in order"
    )
    route: str | None = Field(default=None, description="The POST route of a web app")
    signature: list[Parameter] = Field(default_factory=list, description="Typed parameters")
    source: str = Field(
        default="convention",
        description="Where the entry point came from: 'option', 'pyproject.toml', "
        "'cog.yaml predict', 'langgraph.json graphs.agent', 'convention', ...",
    )


class DeploymentSetting(DeferredModel):
    """The selector's decision."""

    strategy: str
    reasoning: str
    ranking: list[StrategyScore] = Field(default_factory=list)
    resources: Resources = Field(default_factory=Resources)
    interface: str | None = None
    source: Literal["heuristics", "user", "llm"] = "heuristics"
    notes: list[str] = Field(default_factory=list)
    model: str | None = Field(default=None, description="The LLM asked, if one was")
    confidence: float | None = Field(default=None, description="The model's own, 0 to 1")
    cached: bool = Field(default=False, description="The model's answer came from the cache")
    llm_error: str | None = Field(
        default=None, description="Why the model's answer was not used (offline fallback)"
    )


class AdaptationResult(DeferredModel):
    """An adapted copy of the solution, ready for the strategy's runner."""

    strategy: str
    source_path: Path
    adapted_path: Path
    run_interface: RunInterface
    files_changed: list[str] = Field(default_factory=list, description="Relative to adapted_path")
    method: Literal["templates", "coding_agent"] = "templates"
    validation: list[str] = Field(default_factory=list, description="Checks that passed")
    agent: str | None = Field(default=None, description="The coding agent used, if any")
    log_path: Path | None = Field(default=None, description="The coding agent's log, if any")
    left_out: list[str] = Field(
        default_factory=list,
        description="What the copy did not ship, and why (secrets, outside symlinks, ignored)",
    )


# `loading` is live only (never stored): running, but its setup()/load() has not finished.
DeploymentStatus = Literal["deploying", "loading", "running", "stopped", "failed"]


class Owner(DeferredModel):
    """The process making a deployment: a record still `deploying` whose owner is gone was
    left by a killed deploy (`deployer doctor` finds it)."""

    pid: int
    started: str | None = Field(default=None, description="Its creation time (see processes)")


class DeploymentInfo(DeferredModel):
    """What the state store records for one deployment. Never holds secret values."""

    name: str
    strategy: str
    provider: str = ""
    status: DeploymentStatus = "deploying"
    endpoint: str | None = None
    source_path: Path
    adapted_path: Path | None = None
    run_interface: RunInterface | None = None
    reasoning: str = ""
    options: dict[str, Any] = Field(default_factory=dict)
    resources: Resources = Field(default_factory=Resources)
    env_keys: list[str] = Field(default_factory=list, description="Names only, never values")
    capabilities: list[str] = Field(default_factory=list, description="From config.yaml")
    input_schema: dict[str, Any] | None = Field(
        default=None, description="JSON Schema of the input object, as served at deploy"
    )
    run_timeout: float = Field(default=300.0, gt=0, allow_inf_nan=False)
    startup_timeout: float = Field(default=300.0, gt=0, allow_inf_nan=False)
    runner_state: dict[str, Any] = Field(default_factory=dict)
    runner_class: str | None = Field(
        default=None, description="'module:Class' of the runner, recorded at deploy"
    )
    left_out: list[str] = Field(
        default_factory=list, description="What the workspace copy did not ship, and why"
    )
    owner: Owner | None = Field(default=None, description="The deploying process, until done")
    version: int = Field(default=1, ge=1, description="Which version of the name this is")
    source_hash: str | None = Field(default=None, description="Digest of the shipped files")
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        """Checked when a record is read too: a tampered name never becomes a path."""
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError(f"deployment name {value!r} is not a valid name")
        return value
