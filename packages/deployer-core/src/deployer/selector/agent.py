"""SelectorAgent: chooses a strategy for a solution.

The offline layer lives here: each strategy's `signals` from config.yaml are matched against a
bounded scan of the repository, and the best available strategy wins. It is deterministic,
instant and needs no network, so it is always there as the default and the fallback.

When a model is configured (`model=` / `DeployConfig.llm_model`, or `DEPLOYER_LLM_MODEL`), the
LLM layer (`deployer.selector.llm`, imported only then) asks it, with the offline ranking as
evidence, and falls back to the offline choice whenever its answer cannot be used.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

from deployer.errors import StrategyNotFoundError
from deployer.models import DeploymentSetting, SolutionResult, StrategyScore
from deployer.plugins.registry import Strategy, StrategyRegistry
from deployer.repo.digest import RepoDigest, goal_from_readme, normalise_dependency, scan_repository
from deployer.repo.solution import check_solution_path


def effective_goal(solution: SolutionResult) -> str:
    return solution.goal.strip() or goal_from_readme(solution.code_path)


def score_strategy(strategy: Strategy, digest: RepoDigest, goal: str) -> tuple[float, list[str]]:
    signals = strategy.config.signals
    score = signals.baseline
    reasons: list[str] = [f"baseline {signals.baseline:g}"] if signals.baseline else []
    for dep, weight in signals.dependencies.items():
        if normalise_dependency(dep) in digest.dependencies:
            score += weight
            reasons.append(f"depends on {dep} ({weight:+g})")
    for module, weight in signals.imports.items():
        if module in (digest.dotted_imports if "." in module else digest.imports):
            score += weight
            reasons.append(f"imports {module} ({weight:+g})")
    for pattern, weight in signals.files.items():
        hit = next((f for f in digest.files if fnmatch.fnmatch(f, pattern)), None)
        if hit:
            score += weight
            reasons.append(f"has {hit} ({weight:+g})")
    for text, weight in signals.code_patterns.items():
        if text in digest.code_sample:
            score += weight
            reasons.append(f"code mentions {text!r} ({weight:+g})")
    if digest.gpu and signals.gpu:
        score += signals.gpu
        reasons.append(f"{digest.gpu_source or 'its manifest'} asks for a GPU ({signals.gpu:+g})")
    words = set(re.findall(r"[a-z0-9][a-z0-9-]*", goal.lower()))
    lowered_goal = goal.lower()
    for word, weight in signals.goal_words.items():
        phrase = word.lower()
        if (" " in phrase and phrase in lowered_goal) or phrase in words:
            score += weight
            reasons.append(f"goal says {word!r} ({weight:+g})")
    return round(score, 3), reasons


class SelectorAgent:
    """Chooses the strategy for a solution: offline heuristics, plus an LLM when configured.

    `model`: a litellm model string; None reads DEPLOYER_LLM_MODEL; "" forces offline.
    `use_cache`: reuse the cached answer for the same prompt and model. `secrets`: values that
    must never reach the model (DeployConfig.env). `prompt_budget`: characters of repository
    text in the prompt (default DEPLOYER_LLM_PROMPT_BUDGET or 16000).
    """

    def __init__(
        self,
        registry: StrategyRegistry | None = None,
        *,
        model: str | None = None,
        use_cache: bool = True,
        secrets: Iterable[str] | dict[str, str] | None = None,
        prompt_budget: int | None = None,
        api_base: str | None = None,
    ) -> None:
        from deployer.llm.client import configured_model, require_litellm, secret_values

        self.registry = registry or StrategyRegistry()
        self.model = configured_model(model)
        if self.model:
            require_litellm(self.model)
        self.use_cache = use_cache
        self.secrets = secret_values(secrets)
        self.prompt_budget = prompt_budget
        self.api_base = api_base

    def rank(
        self,
        solution: SolutionResult,
        allowed_strategies: Iterable[str] | None = None,
        digest: RepoDigest | None = None,
    ) -> list[StrategyScore]:
        root = check_solution_path(solution.code_path)
        strategies = self.registry.list_strategies(allowed_strategies)
        if not strategies:
            raise StrategyNotFoundError(
                "no strategy is installed", hint="pip install deployer-local"
            )
        digest = digest or scan_repository(root)
        goal = effective_goal(solution)
        ranking: list[StrategyScore] = []
        for strategy in strategies:
            score, reasons = score_strategy(strategy, digest, goal)
            availability = self.registry.availability(strategy.name)
            ranking.append(
                StrategyScore(
                    strategy=strategy.name,
                    score=score,
                    available=availability.available,
                    reasons=reasons,
                    unavailable_reason=None if availability.available else availability.reason,
                )
            )
        ranking.sort(key=lambda s: (-s.score, not s.available, s.strategy))
        return ranking

    def select(
        self, solution: SolutionResult, allowed_strategies: Iterable[str] | None = None
    ) -> DeploymentSetting:
        allowed = list(allowed_strategies) if allowed_strategies is not None else None
        if self.model is None:
            return self._select_offline(solution, allowed)
        from deployer.selector.llm import LLMSelection

        root = check_solution_path(solution.code_path)
        digest = scan_repository(root)  # one scan for both layers
        offline = self._select_offline(solution, allowed, digest)
        strategies = self.registry.list_strategies(allowed)
        return LLMSelection(
            registry=self.registry,
            model=self.model,
            use_cache=self.use_cache,
            secrets=self.secrets,
            budget=self.prompt_budget,
            api_base=self.api_base,
        ).select(root, effective_goal(solution), strategies, offline.ranking, offline, digest)

    def _select_offline(
        self,
        solution: SolutionResult,
        allowed_strategies: Iterable[str] | None = None,
        digest: RepoDigest | None = None,
    ) -> DeploymentSetting:
        ranking = self.rank(solution, allowed_strategies, digest)
        usable = [s for s in ranking if s.available]
        if not usable:
            details = "; ".join(f"{s.strategy}: {s.unavailable_reason}" for s in ranking)
            raise StrategyNotFoundError(f"no allowed strategy is available here ({details})")
        best = usable[0]
        why = ", ".join(best.reasons) or "no specific signal matched"
        reasoning = f"{best.strategy} scored {best.score:g} ({why})"
        notes = [
            f"{s.strategy} fits better (score {s.score:g}) but is unavailable: "
            f"{s.unavailable_reason}"
            for s in ranking
            if not s.available and s.score > best.score
        ]
        if notes:
            reasoning += "; " + "; ".join(notes)
        config = self.registry.get_strategy(best.strategy).config
        return DeploymentSetting(
            strategy=best.strategy,
            reasoning=reasoning,
            ranking=ranking,
            resources=config.default_resources,
            interface=config.interface,
            source="heuristics",
            notes=notes,
        )

    def explain(
        self, solution: SolutionResult, allowed_strategies: Iterable[str] | None = None
    ) -> str:
        setting = self.select(solution, allowed_strategies)
        return format_setting(setting, effective_goal(solution))


def format_setting(setting: DeploymentSetting, goal: str = "") -> str:
    if setting.source == "llm":
        how = [f"chosen by {setting.model}"]
        if setting.confidence is not None:
            how.append(f"confidence {setting.confidence:g}")
        if setting.cached:
            how.append("cached answer")
        lines = [
            f"Chosen strategy: {setting.strategy} ({', '.join(how)})",
            f"Why (the model's reasoning): {setting.reasoning}",
        ]
        lines.extend(f"Note: {note}" for note in setting.notes[1:])
    elif setting.llm_error:
        lines = [
            f"Chosen strategy: {setting.strategy} (offline ranking: the answer of "
            f"{setting.model} could not be used)",
            f"Why: {setting.reasoning}",
        ]
    else:
        lines = [f"Chosen strategy: {setting.strategy}", f"Why: {setting.reasoning}"]
    if goal:
        lines.append(f"Goal: {goal}")
    lines.append("Ranking:" if setting.source != "llm" else "Offline ranking (heuristics):")
    for place, item in enumerate(setting.ranking, start=1):
        state = "available" if item.available else f"unavailable: {item.unavailable_reason}"
        lines.append(f"  {place}. {item.strategy}  score {item.score:g}  ({state})")
        lines.extend(f"       - {reason}" for reason in item.reasons)
    return "\n".join(lines)
