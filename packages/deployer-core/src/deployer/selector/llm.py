"""The LLM layer of strategy selection.

The prompt is assembled from the `selector_instruction.md` of every allowed, installed
strategy (so a newly installed third-party strategy takes part without touching core), the
goal, a digest of the repository bounded by a budget (`llm_digest`), and the offline ranking as
evidence. The model answers with JSON in the message content (a ```json fence is allowed),
validated by `SelectionAnswer` and against the installed, allowed and available strategies.
An unusable answer gets one correction round with the error shown to the model; if it is still
unusable, or the provider fails (timeout, rate limit, auth, server error), selection falls back
to the offline ranking and the DeploymentSetting says why. It never raises for the model's
sake.

Answers are cached under `cache_dir("selection")`, keyed by a hash of the prompt (which holds
the repository digest, the strategies' instructions, the goal and the ranking), the model and
the api_base: the same repository, strategies and model give the cached answer without a call.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from deployer.llm.client import LLMClient, LLMError, redact
from deployer.models import DeploymentSetting, Resources, StrategyScore
from deployer.paths import cache_dir
from deployer.plugins.registry import Strategy, StrategyRegistry
from deployer.repo.describe import describe_repository
from deployer.repo.digest import RepoDigest

PROMPT_VERSION = 1
MAX_INSTRUCTION_CHARS = 6_000
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.DOTALL)


class SelectionAnswer(BaseModel):
    """What the model must answer."""

    model_config = ConfigDict(extra="ignore")

    strategy: str = Field(min_length=1)
    reasoning: str = Field(min_length=1)
    resources: Resources | None = None
    interface: str | None = None
    confidence: float | None = Field(default=None, ge=0, le=1)


class AnswerError(ValueError):
    """The model's answer cannot be used; the message is shown to it in the correction."""


ANSWER_SHAPE = (
    '{"strategy": "<one of the available strategy names>", '
    '"reasoning": "<two or three sentences: why this strategy fits this repository>", '
    '"resources": {"cpu": <cores or null>, "memory": "<e.g. 2Gi or null>", '
    '"gpu": "<e.g. T4 or null>"}, '
    '"interface": "<function|http|... or null>", "confidence": <0.0 to 1.0>}'
)

SYSTEM_PROMPT = f"""\
You choose how to deploy a software repository. Several deployment strategies are installed;
each is described below by its own instructions. Read the goal and the repository digest, weigh
the offline ranking (a heuristic score from simple signals, given as evidence, not as the
answer), and pick the ONE strategy that fits best among those marked available.

Answer with a single JSON object and nothing else (a ```json fence is allowed):
{ANSWER_SHAPE}
Only "strategy" and "reasoning" are required; leave out what you do not know."""


def extract_json(content: str) -> Any:
    """The JSON object in a reply: the whole content, a ```json fence, or the first {...}."""
    text = content.strip()
    if not text:
        raise AnswerError("the answer was empty")
    candidates = [text]
    candidates += [block.strip() for block in _FENCE.findall(text)]
    start = text.find("{")
    if start >= 0:
        candidates.append(text[start:])
    error: ValueError | None = None
    for candidate in candidates:
        try:
            value, _ = json.JSONDecoder().raw_decode(candidate)
            return value
        except ValueError as exc:
            error = error or exc
    raise AnswerError(f"the answer is not valid JSON ({error})")


def parse_answer(
    content: str,
    allowed: list[str],
    available: dict[str, str | None],
    installed: list[str],
) -> SelectionAnswer:
    """Validate the reply; `available` maps each allowed name to None or why it is unavailable."""
    data = extract_json(content)
    if not isinstance(data, dict):
        raise AnswerError(f"the answer must be a JSON object, not {type(data).__name__}")
    try:
        answer = SelectionAnswer.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
            for err in exc.errors()[:5]
        )
        raise AnswerError(f"the answer does not match the required shape ({problems})") from None
    name = answer.strategy.strip().lower()
    usable = [n for n in allowed if available.get(n) is None]
    if name not in installed:
        raise AnswerError(
            f"strategy {answer.strategy!r} is not installed; choose one of: {', '.join(usable)}"
        )
    if name not in allowed:
        raise AnswerError(
            f"strategy {answer.strategy!r} is not allowed here; choose one of: {', '.join(usable)}"
        )
    if available.get(name) is not None:
        raise AnswerError(
            f"strategy {name!r} is unavailable on this machine ({available[name]}); "
            f"choose one of: {', '.join(usable)}"
        )
    return answer.model_copy(update={"strategy": name})


def build_messages(
    strategies: list[Strategy],
    available: dict[str, str | None],
    goal: str,
    repository: str,
    ranking: list[StrategyScore],
) -> list[dict[str, str]]:
    sections = []
    for strategy in strategies:
        reason = available.get(strategy.name)
        state = "available" if reason is None else f"UNAVAILABLE here: {reason}"
        instruction = strategy.selector_instruction.strip()
        if len(instruction) > MAX_INSTRUCTION_CHARS:
            instruction = instruction[:MAX_INSTRUCTION_CHARS] + "\n... [truncated]"
        sections.append(
            f"## Strategy `{strategy.name}` ({state})\n"
            f"Summary: {strategy.config.summary}\n\n{instruction}"
        )
    lines = []
    for place, item in enumerate(ranking, start=1):
        why = ", ".join(item.reasons) or "no signal matched"
        state = "" if item.available else " (unavailable)"
        lines.append(f"{place}. {item.strategy}: score {item.score:g}{state} - {why}")
    user = (
        "# Installed strategies\n\n"
        + "\n\n".join(sections)
        + f"\n\n# Goal\n\n{goal or '(none given)'}"
        + f"\n\n# Repository digest\n\n{repository}"
        + "\n\n# Offline ranking (evidence from config.yaml signals)\n\n"
        + "\n".join(lines)
        + "\n\nAnswer now with the JSON object."
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def cache_key(model: str, api_base: str | None, messages: list[dict[str, str]]) -> str:
    digest = hashlib.sha256()
    digest.update(f"deployer-selection/{PROMPT_VERSION}\0{model}\0{api_base or ''}\0".encode())
    digest.update(json.dumps(messages, sort_keys=True).encode())
    return digest.hexdigest()


def _read_cache(key: str) -> dict[str, Any] | None:
    path = cache_dir("selection") / f"{key}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_cache(key: str, data: dict[str, Any]) -> None:
    directory = cache_dir("selection")
    fd, tmp = tempfile.mkstemp(prefix=f".{key[:12]}-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, directory / f"{key}.json")
    except OSError:
        Path(tmp).unlink(missing_ok=True)  # a cache that cannot be written is only slower


@dataclass
class LLMSelection:
    """One LLM selection: everything `SelectorAgent` needs to ask and to fall back."""

    registry: StrategyRegistry
    model: str
    use_cache: bool = True
    secrets: list[str] | None = None
    budget: int | None = None
    api_base: str | None = None
    log: Callable[[str], None] | None = None

    def select(
        self,
        root: Path,
        goal: str,
        strategies: list[Strategy],
        ranking: list[StrategyScore],
        offline: DeploymentSetting,
        digest: RepoDigest | None = None,
    ) -> DeploymentSetting:
        secrets = self.secrets or []
        allowed = [s.name for s in strategies]
        available = _availability(strategies, ranking)
        installed = [s.name for s in self.registry.list_strategies()]
        messages = self.messages(root, goal, strategies, ranking, digest)
        client = LLMClient(self.model, api_base=self.api_base, secrets=secrets, log=self.log)
        key = cache_key(self.model, client.api_base, messages)

        if self.use_cache:
            cached = _read_cache(key)
            if cached is not None:
                try:
                    answer = parse_answer(
                        json.dumps(cached["answer"]), allowed, available, installed
                    )
                except (AnswerError, KeyError, TypeError):
                    pass  # stale or damaged: ask again
                else:
                    when = cached.get("created", "")
                    return self._setting(answer, ranking, cached=True, note=f"cached {when}")

        try:
            answer = self._ask(client, messages, allowed, available, installed)
        except (AnswerError, LLMError) as exc:
            return _fallback(offline, self.model, redact(str(exc), secrets))
        if self.use_cache:
            _write_cache(
                key,
                {
                    "answer": answer.model_dump(mode="json", exclude_none=True),
                    "model": self.model,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                },
            )
        return self._setting(answer, ranking, cached=False)

    def messages(
        self,
        root: Path,
        goal: str,
        strategies: list[Strategy],
        ranking: list[StrategyScore],
        digest: RepoDigest | None = None,
    ) -> list[dict[str, str]]:
        """The prompt, exactly as it is sent (secrets redacted)."""
        secrets = self.secrets or []
        repository = describe_repository(root, self.budget, secrets, digest).text
        available = _availability(strategies, ranking)
        messages = build_messages(strategies, available, goal, repository, ranking)
        return [{**m, "content": redact(m["content"], secrets)} for m in messages]

    def _ask(
        self,
        client: LLMClient,
        messages: list[dict[str, str]],
        allowed: list[str],
        available: dict[str, str | None],
        installed: list[str],
    ) -> SelectionAnswer:
        reply = client.complete(messages, json_answer=True)
        try:
            return parse_answer(reply.content, allowed, available, installed)
        except AnswerError as first:
            correction = [
                *messages,
                {"role": "assistant", "content": reply.content},
                {
                    "role": "user",
                    "content": f"Your answer cannot be used: {first}. Answer again with only "
                    f"the JSON object, in this shape: {ANSWER_SHAPE}",
                },
            ]
            again = client.complete(correction, json_answer=True)
            try:
                return parse_answer(again.content, allowed, available, installed)
            except AnswerError as second:
                raise AnswerError(
                    f"the model's answer was unusable twice (first: {first}; then: {second})"
                ) from None

    def _setting(
        self,
        answer: SelectionAnswer,
        ranking: list[StrategyScore],
        cached: bool,
        note: str = "",
    ) -> DeploymentSetting:
        config = self.registry.get_strategy(answer.strategy).config
        resources = config.default_resources
        if answer.resources is not None:
            resources = resources.model_copy(update=answer.resources.model_dump(exclude_none=True))
        notes = [f"chosen by {self.model}" + (f" ({note})" if note else "")]
        usable = [s for s in ranking if s.available]
        if usable and usable[0].strategy != answer.strategy:
            notes.append(f"the offline ranking would choose {usable[0].strategy}")
        return DeploymentSetting(
            strategy=answer.strategy,
            reasoning=answer.reasoning.strip(),
            ranking=ranking,
            resources=resources,
            interface=answer.interface or config.interface,
            source="llm",
            notes=notes,
            model=self.model,
            confidence=answer.confidence,
            cached=cached,
        )


def _availability(
    strategies: list[Strategy], ranking: list[StrategyScore]
) -> dict[str, str | None]:
    """Each allowed strategy's name -> None (available) or why it is unavailable."""
    reasons = {item.strategy: item.unavailable_reason for item in ranking}
    return {s.name: reasons.get(s.name) for s in strategies}


def _fallback(offline: DeploymentSetting, model: str, reason: str) -> DeploymentSetting:
    note = f"LLM selection with {model} failed ({reason}); used the offline ranking"
    return offline.model_copy(
        update={
            "reasoning": f"{offline.reasoning} [offline fallback: {reason}]",
            "notes": [*offline.notes, note],
            "model": model,
            "llm_error": reason,
        }
    )
