"""Coding agents: the ones core ships, plus those plugins register.

Core is not a strategy plugin, so its own agents are listed here and merged with what the
`deployer_register_coding_agents` hook returns. A plugin agent whose name is taken (by core or
by another plugin) is reported as a conflict and not used.

A `CodingAgentSpec.requirements` entry is a program that must be on PATH, or `env:NAME` (an
environment variable that must be set), `module:NAME` (an importable Python module), or `llm`
(a model configured: `--model` or DEPLOYER_LLM_MODEL, and litellm installed). Nothing here
imports an agent's module until the agent is used.
"""

from __future__ import annotations

import importlib
import os
import shutil
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from deployer.errors import PluginError, StrategyUnavailableError, UsageError
from deployer.modules import module_installed
from deployer.plugins.hookspecs import CodingAgentSpec

if TYPE_CHECKING:
    from deployer.adapter.agents.base import CodingAgent
    from deployer.plugins.registry import StrategyRegistry

AGENT_ENV = "DEPLOYER_CODING_AGENT"
CORE = "deployer-core"

BUILTIN_AGENTS: list[CodingAgentSpec] = [
    CodingAgentSpec(
        name="llm-editor",
        factory="deployer.adapter.agents.llm_editor:LLMEditorAgent",
        description="Edits the workspace through litellm with any model (structured edits).",
        requirements=["llm"],
    ),
    CodingAgentSpec(
        name="claude-code",
        factory="deployer.adapter.agents.external:ClaudeCodeAgent",
        description="Claude Code CLI, non-interactive (claude -p).",
        requirements=["claude"],
    ),
    CodingAgentSpec(
        name="aider",
        factory="deployer.adapter.agents.external:AiderAgent",
        description="Aider, scripted (aider --message).",
        requirements=["aider"],
    ),
    CodingAgentSpec(
        name="codex",
        factory="deployer.adapter.agents.external:CodexAgent",
        description="OpenAI Codex CLI, non-interactive (codex exec).",
        requirements=["codex"],
    ),
]


class AgentRecord(BaseModel):
    """What `deployer agents` shows for one coding agent."""

    name: str
    source: str  # "deployer-core" or the plugin (strategy) that registered it
    description: str = ""
    status: Literal["ok", "conflict"] = "ok"
    available: bool = False
    reason: str = ""
    hint: str = ""
    factory: str = ""


def configured_agent(explicit: str | None = None) -> str | None:
    name = (explicit if explicit is not None else os.environ.get(AGENT_ENV, "")).strip()
    return name or None


def check_requirements(spec: CodingAgentSpec, model: str | None = None) -> tuple[bool, str, str]:
    """(available, reason, hint) for an agent spec; never imports the agent."""
    from deployer.llm.client import LLM_EXTRA_HINT, configured_model, litellm_installed

    for requirement in spec.requirements:
        kind, _, value = requirement.partition(":")
        if requirement == "llm":
            if configured_model(model) is None:
                return (
                    False,
                    "no model is configured",
                    "pass --model (any litellm model string) or set DEPLOYER_LLM_MODEL",
                )
            if not litellm_installed():
                return False, "the LLM extra (litellm) is not installed", LLM_EXTRA_HINT
        elif kind == "env" and value:
            if not os.environ.get(value):
                return False, f"environment variable {value} is not set", f"set {value}"
        elif kind == "module" and value:
            if not module_installed(value):
                return (
                    False,
                    f"the Python package {value!r} is not installed",
                    f"pip install {value}",
                )
        elif shutil.which(requirement) is None:
            hint = _install_hint(spec) or f"install {requirement} and put it on PATH"
            return False, f"the {requirement!r} program is not on PATH", hint
    return True, "", ""


def _install_hint(spec: CodingAgentSpec) -> str:
    if spec.factory.startswith("deployer.adapter.agents.external:"):
        from deployer.adapter.agents import external

        cls = getattr(external, spec.factory.partition(":")[2], None)
        return getattr(cls, "install_hint", "") or ""
    return ""


def agent_specs(registry: StrategyRegistry | None) -> list[tuple[CodingAgentSpec, str, str]]:
    """(spec, source, status) for core's agents and every plugin's."""
    out: list[tuple[CodingAgentSpec, str, str]] = [(s, CORE, "ok") for s in BUILTIN_AGENTS]
    if registry is None:
        return out
    taken = {spec.name for spec in BUILTIN_AGENTS}
    plugin_specs = registry.coding_agents_by_plugin()
    counts: dict[str, int] = {}
    for spec, _ in plugin_specs:
        counts[spec.name] = counts.get(spec.name, 0) + 1
    for spec, source in plugin_specs:
        clash = spec.name in taken or counts[spec.name] > 1
        out.append((spec, source, "conflict" if clash else "ok"))
    return out


def list_agents(
    registry: StrategyRegistry | None = None, model: str | None = None
) -> list[AgentRecord]:
    records = []
    for spec, source, status in agent_specs(registry):
        if status == "conflict":
            available, reason = False, f"the name {spec.name!r} is registered more than once"
            hint = f"uninstall one of the packages registering {spec.name!r}"
        else:
            available, reason, hint = check_requirements(spec, model)
        records.append(
            AgentRecord(
                name=spec.name,
                source=source,
                description=spec.description,
                status=status,  # type: ignore[arg-type]
                available=available,
                reason=reason,
                hint=hint,
                factory=spec.factory,
            )
        )
    return records


def load_agent(
    name: str, registry: StrategyRegistry | None = None, model: str | None = None
) -> CodingAgent:
    """The agent called `name`, constructed; a clear error if unknown, unavailable or broken."""
    from deployer.adapter.agents.base import CodingAgent

    specs = agent_specs(registry)
    matches = [(spec, status) for spec, _, status in specs if spec.name == name]
    if not matches:
        known = ", ".join(sorted({spec.name for spec, _, _ in specs}))
        raise UsageError(f"unknown coding agent {name!r}", hint=f"known agents: {known}")
    spec, status = next(((s, st) for s, st in matches if st == "ok"), matches[0])
    if status != "ok":
        raise PluginError(f"coding agent {name!r} is registered more than once")
    available, reason, hint = check_requirements(spec, model)
    if not available:
        raise StrategyUnavailableError(
            f"coding agent {name!r} is unavailable: {reason}", hint=hint or None
        )
    module_name, _, class_name = spec.factory.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except Exception as exc:
        raise PluginError(f"coding agent {name!r}: cannot import {spec.factory}: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, CodingAgent)):
        raise PluginError(f"coding agent {name!r}: {spec.factory} is not a CodingAgent subclass")
    return cls(model=model)
