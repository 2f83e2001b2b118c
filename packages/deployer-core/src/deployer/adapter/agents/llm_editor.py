"""llm-editor: a coding agent driven through litellm, built into core.

The model gets the strategy's adapter instruction, the goal, the run interface it must declare
and the relevant files of the workspace; it answers with edits in the strict format of
`deployer.adapter.agents.edits` and the run interface. Edits are applied inside the workspace only
(escapes are refused and reported back); the driver validates and feeds problems back to the
same conversation for another round.
"""

from __future__ import annotations

from deployer.adapter.agents.base import (
    AgentTask,
    AgentTurn,
    CodingAgent,
    feedback_prompt,
    task_prompt,
)
from deployer.adapter.agents.edits import FORMAT_HELP, EditFormatError, apply_edits, parse_edits
from deployer.errors import AdaptationError
from deployer.llm.client import LLMClient, LLMError, configured_model
from deployer.repo.describe import describe_repository
from deployer.repo.digest import scan_repository

SYSTEM = f"""\
You are a careful coding agent. You change a repository only through edit blocks, then end
with the run interface. No other way of changing files exists.

{FORMAT_HELP}"""


class LLMEditorAgent(CodingAgent):
    name = "llm-editor"

    def __init__(self, *, model: str | None = None) -> None:
        super().__init__(model=configured_model(model))
        self.messages: list[dict[str, str]] = []
        self.client: LLMClient | None = None

    def _client(self, task: AgentTask) -> LLMClient:
        if self.model is None:
            raise AdaptationError(
                "the llm-editor agent needs a model",
                hint="pass --model (e.g. openai/gpt-4o-mini) or set DEPLOYER_LLM_MODEL",
            )
        if self.client is None:
            self.client = LLMClient(
                self.model, secrets=task.secrets, log=lambda line: task.log.write(f"[llm] {line}")
            )
        return self.client

    def _first_prompt(self, task: AgentTask) -> str:
        digest = scan_repository(task.workspace)
        repository = describe_repository(task.workspace, None, task.secrets, digest)
        return (
            task_prompt(task)
            + "\n# The repository (file list, dependencies and the relevant files)\n\n"
            + repository.text
            + "\n\n# How to answer\n\n"
            + FORMAT_HELP
            + "\n\nThen end with the <run_interface> block."
        )

    def run(self, task: AgentTask, feedback: str | None = None) -> AgentTurn:
        client = self._client(task)
        if not self.messages:
            self.messages = [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": self._first_prompt(task)},
            ]
        elif feedback:
            self.messages.append({"role": "user", "content": feedback_prompt(feedback)})
        task.log.section(f"llm-editor prompt ({self.model})", self.messages[-1]["content"])
        try:
            reply = client.complete(self.messages)
        except LLMError as exc:
            raise AdaptationError(
                f"the llm-editor agent could not reach {self.model}: {exc.message}", exc.hint
            ) from None
        self.messages.append({"role": "assistant", "content": reply.content})
        task.log.section("llm-editor reply", reply.content)
        try:
            edits = parse_edits(reply.content)
        except EditFormatError as exc:
            return AgentTurn(
                output=reply.content,
                problems=[f"your edits could not be read: {exc}. No edit was applied."],
            )
        report = apply_edits(task.workspace, edits)
        for line in report.refused:
            task.log.write(f"[refused] {line}")
        for line in report.failed:
            task.log.write(f"[failed] {line}")
        if report.changed:
            task.log.write("[applied] " + ", ".join(report.changed))
        return AgentTurn(
            output=reply.content,
            changed=report.changed,
            refused=report.refused,
            problems=report.failed,
        )
