"""The hooks a deployer plugin implements, under the pluggy project name "deployer".

Plugins mark their implementations with `deployer.hookimpl` and are found through the entry
point group `deployer.strategies`. A plugin's module holds hook implementations only and imports
nothing heavier than `deployer` and the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pluggy

PROJECT_NAME = "deployer"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@dataclass(frozen=True)
class StrategyPackage:
    """Where a strategy's files live: the import package holding config.yaml, both instruction
    files and templates/ side by side. Files are read with importlib.resources, so they work
    from a wheel."""

    name: str
    package: str


@dataclass(frozen=True)
class Availability:
    """Whether a strategy can work on this machine, and if not, why and how to fix it."""

    available: bool
    reason: str = ""
    hint: str = ""


@dataclass(frozen=True)
class CodingAgentSpec:
    """A coding agent that adapts repositories a strategy's templates cannot handle.

    `factory` names a subclass of `deployer.adapter.agents.base.CodingAgent`, built as
    `Class(model=...)`. Each `requirements` entry is a program that must be on PATH, or
    `env:NAME`, `module:NAME`, or `llm` (a model configured); checked without importing."""

    name: str
    factory: str  # "module:Class", imported only when the agent is used
    description: str = ""
    requirements: list[str] = field(default_factory=list)


@hookspec(firstresult=True)
def deployer_register_strategy() -> StrategyPackage:
    """Return the strategy this plugin provides."""


@hookspec
def deployer_register_coding_agents() -> list[CodingAgentSpec]:
    """Return the coding agents this plugin provides (may be empty)."""


@hookspec(firstresult=True)
def deployer_check_availability(
    strategy: str, options: dict[str, object] | None, env_keys: list[str]
) -> Availability | None:
    """Extra availability checks beyond config.yaml's `requirements` (a daemon that must answer,
    a credential file). `options` are the deployment's resolved strategy options, or None when
    listing strategies (judge the defaults then): a target that needs no credential may be
    available where the default one is not. `env_keys` are the names of the variables the
    deployment itself is given (`--env`, `--env-file`): a key given there counts as set even
    when the shell lacks it. Return None when there is nothing to add. Must not raise, must be
    quick, and must not import the platform SDK. Implementations may take only `strategy`."""


@hookspec(firstresult=True)
def deployer_smoke_check(strategy: str, workspace: object, run_interface: object) -> str | None:
    """Check an adapted workspace before it is deployed (templates or coding agent): return
    None when it is fine, or a one-line problem (a coding agent gets it as feedback). Gets the
    workspace `pathlib.Path` and the `RunInterface`. Must be quick, must not deploy anything
    and must not import the platform SDK. Implementations may take only some arguments."""
