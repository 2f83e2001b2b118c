"""External CLI coding agents: Claude Code, Aider and Codex CLI, run as subprocesses.

Each runs non-interactively in the workspace (its current directory) with a timeout
(`DEPLOYER_AGENT_TIMEOUT`, default 900 s), standard input closed, in its own process group
(killed whole on timeout). Its output is captured into the adaptation log, redacted of the
deployment's secrets. The agent's own credentials (ANTHROPIC_API_KEY, OPENAI_API_KEY, its
login) come from the environment as usual; the deployment's secrets are not in it.

A later round (after validation problems) runs the agent again with the task and the problems.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from typing import ClassVar

from deployer.adapter.agents.base import (
    AgentTask,
    AgentTurn,
    CodingAgent,
    feedback_prompt,
    task_prompt,
)
from deployer.errors import AdaptationError, StrategyUnavailableError
from deployer.llm.client import redact

OUTPUT_LIMIT = 2_000_000  # characters of agent output kept


class ExternalAgent(CodingAgent):
    """A coding agent that is a program on PATH."""

    binary: ClassVar[str] = ""
    install_hint: ClassVar[str] = ""

    def command(self, executable: str, prompt: str, task: AgentTask) -> list[str]:
        raise NotImplementedError

    def run(self, task: AgentTask, feedback: str | None = None) -> AgentTurn:
        executable = shutil.which(self.binary)
        if executable is None:
            raise StrategyUnavailableError(
                f"coding agent {self.name!r} is unavailable: the {self.binary!r} program is not "
                "on PATH",
                hint=self.install_hint or f"install {self.binary}",
            )
        prompt = task_prompt(task)
        if feedback:
            prompt += "\n" + feedback_prompt(feedback)
        argv = self.command(executable, prompt, task)
        shown = " ".join(a if a != prompt else "<prompt>" for a in argv)
        task.log.section(f"{self.name}: {shown} (in {task.workspace}, timeout {task.timeout:g}s)")
        task.log.write(prompt)
        try:
            proc = subprocess.Popen(
                argv,
                cwd=task.workspace,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                encoding="utf-8",
                errors="replace",
                start_new_session=True,
                env=self.environment(),
            )
        except OSError as exc:
            raise AdaptationError(f"could not start {self.binary}: {exc}") from None
        try:
            output, _ = proc.communicate(timeout=task.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            output, _ = proc.communicate()
            task.log.section(f"{self.name} output (killed after {task.timeout:g}s)", output or "")
            raise AdaptationError(
                f"coding agent {self.name!r} did not finish within {task.timeout:g}s",
                hint="raise DEPLOYER_AGENT_TIMEOUT, or see the adaptation log",
            ) from None
        output = (output or "")[-OUTPUT_LIMIT:]
        task.log.section(f"{self.name} output (exit code {proc.returncode})", output)
        if proc.returncode != 0:
            tail = redact(" | ".join(output.strip().splitlines()[-3:]), task.secrets)
            raise AdaptationError(
                f"coding agent {self.name!r} exited with code {proc.returncode}: {tail}",
                hint="see the adaptation log (deployer logs NAME --adaptation)",
            )
        return AgentTurn(output=output)

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("CI", "1")  # no interactive prompts, no colours
        env["NO_COLOR"] = "1"
        return env


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


class ClaudeCodeAgent(ExternalAgent):
    """Claude Code in print mode: `claude -p PROMPT --permission-mode acceptEdits`."""

    name = "claude-code"
    binary = "claude"
    install_hint = (
        "npm install -g @anthropic-ai/claude-code, then log in (or set ANTHROPIC_API_KEY)"
    )

    def command(self, executable: str, prompt: str, task: AgentTask) -> list[str]:
        argv = [executable, "-p", prompt, "--permission-mode", "acceptEdits"]
        return [*argv, "--output-format", "text"]  # its own model and login


class AiderAgent(ExternalAgent):
    """Aider scripted: `aider --message PROMPT --yes-always --no-git ...`."""

    name = "aider"
    binary = "aider"
    install_hint = "python -m pip install aider-install && aider-install"

    def command(self, executable: str, prompt: str, task: AgentTask) -> list[str]:
        argv = [
            executable, "--message", prompt, "--yes-always", "--no-git", "--no-auto-commits",
            "--no-pretty", "--no-stream", "--no-check-update", "--no-show-model-warnings",
        ]  # fmt: skip
        if self.model:
            argv += ["--model", self.model]  # aider takes litellm model strings
        return argv


class CodexAgent(ExternalAgent):
    """Codex CLI non-interactive: `codex exec --sandbox workspace-write PROMPT`."""

    name = "codex"
    binary = "codex"
    install_hint = "npm install -g @openai/codex, then codex login (or set OPENAI_API_KEY)"

    def command(self, executable: str, prompt: str, task: AgentTask) -> list[str]:
        # its own model and login; the workspace is a fresh copy, not a git repository
        return [executable, "exec", "--sandbox", "workspace-write", "--skip-git-repo-check", prompt]
