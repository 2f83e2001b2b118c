"""What every coding agent implements, and the task it is given.

A coding agent works inside the adapted workspace (a copy of the solution; the original is never
touched) and ends its output with a run interface (`run_interface.HELP`). The driver
(`deployer.adapter.agents.driver`) validates the result and, on a problem, calls `run` again
with the problems as feedback, up to a limit.

Plugins provide agents through the `deployer_register_coding_agents` hook: a CodingAgentSpec
whose `factory` ("module:Class") names a subclass of `CodingAgent`, constructed as
`Class(model=...)` only when it is used.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from deployer.adapter.agents.run_interface import HELP as RUN_INTERFACE_HELP
from deployer.llm.client import redact


class AgentLog:
    """The agent's log file: every line redacted of the deployment's secrets."""

    def __init__(self, path: Path | None, secrets: list[str] | None = None) -> None:
        self.path = path
        self.secrets = secrets or []
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, text: str) -> None:
        if self.path is None:
            return
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(redact(text, self.secrets).rstrip("\n") + "\n")

    def section(self, title: str, body: str = "") -> None:
        self.write(f"===== {title} =====" + (f"\n{body}" if body else ""))


@dataclass
class AgentTask:
    """Everything an agent is told. Holds no secret values (only `secrets` to redact with)."""

    workspace: Path
    strategy: str
    adapter_instruction: str
    goal: str
    reason: str  # why an agent is adapting this repository
    required_files: list[str] = field(default_factory=list)
    run_interface_kind: str = "function"
    entrypoint: str | None = None  # the user's, if given
    env_keys: list[str] = field(default_factory=list)
    timeout: float = 900.0
    log: AgentLog = field(default_factory=lambda: AgentLog(None))
    secrets: list[str] = field(default_factory=list, repr=False)


@dataclass
class AgentTurn:
    """One run of an agent: its output (ending with the run interface) and what went wrong
    while applying its work (refused or failed edits), for the next round's feedback."""

    output: str
    changed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class CodingAgent(ABC):
    """Base class of coding agents."""

    name: ClassVar[str] = "agent"

    def __init__(self, *, model: str | None = None) -> None:
        self.model = model

    @abstractmethod
    def run(self, task: AgentTask, feedback: str | None = None) -> AgentTurn:
        """Adapt `task.workspace` (first call) or fix it after `feedback` (later calls)."""


def task_prompt(task: AgentTask, files: list[str] | None = None) -> str:
    """The task in words, shared by every agent (the LLM editor adds files and edit format)."""
    env = ", ".join(task.env_keys) if task.env_keys else "none"
    required = ", ".join(task.required_files) or "none"
    entry = (
        f"The user chose the entry point {task.entrypoint}: keep it.\n" if task.entrypoint else ""
    )
    listing = ""
    if files is not None:
        shown = files[:300]
        listing = "\n# Files in the workspace\n\n" + "\n".join(f"- {f}" for f in shown)
        if len(files) > len(shown):
            listing += f"\n- ... and {len(files) - len(shown)} more"
        listing += "\n"
    return f"""\
You are adapting a copy of a software repository so that deployer can deploy it with the
`{task.strategy}` strategy. You work in the current directory, which is that copy (the
workspace). Change only files inside it; keep the solution's own code as it is wherever you can.

# Why you are needed

{task.reason}

# Goal of the software

{task.goal or "(not given)"}

# The strategy's instructions

{task.adapter_instruction.strip()}

# What deployer checks afterwards

- the entry point you declare exists and imports from the workspace root;
- files the strategy needs: {required} (deployer renders the strategy's own templates into the
  workspace itself once the entry point is known; do not write them unless told to);
- the strategy's smoke check, if it has one.
Environment variables the deployment will receive (names only): {env}. Read secrets from the
environment at run time; never write their values into files.
{entry}{listing}
# The run interface

{RUN_INTERFACE_HELP}
This form replaces any other form of the run interface the instructions above may show.
"""


def feedback_prompt(feedback: str) -> str:
    return (
        "Your previous attempt did not pass deployer's checks:\n\n"
        f"{feedback.strip()}\n\nFix the workspace and end your output with the run interface "
        "again."
    )
