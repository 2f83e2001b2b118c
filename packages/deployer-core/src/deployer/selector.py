"""SelectorAgent: chooses a strategy for a solution.

This is the offline layer: each strategy's `signals` from config.yaml are matched against a
bounded scan of the repository, and the best available strategy wins. It is deterministic,
instant and needs no network, so it is always there as the default and the fallback.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

from deployer.adapter import check_solution_path
from deployer.digest import RepoDigest, goal_from_readme, normalise_dependency, scan_repository
from deployer.errors import StrategyNotFoundError
from deployer.models import DeploymentSetting, SolutionResult, StrategyScore
from deployer.registry import Strategy, StrategyRegistry


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
        if module in digest.imports:
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
    words = set(re.findall(r"[a-z0-9][a-z0-9-]*", goal.lower()))
    lowered_goal = goal.lower()
    for word, weight in signals.goal_words.items():
        phrase = word.lower()
        if (" " in phrase and phrase in lowered_goal) or phrase in words:
            score += weight
            reasons.append(f"goal says {word!r} ({weight:+g})")
    return round(score, 3), reasons


class SelectorAgent:
    """Chooses the strategy for a solution (offline heuristics)."""

    def __init__(self, registry: StrategyRegistry | None = None) -> None:
        self.registry = registry or StrategyRegistry()

    def rank(
        self, solution: SolutionResult, allowed_strategies: Iterable[str] | None = None
    ) -> list[StrategyScore]:
        root = check_solution_path(solution.code_path)
        strategies = self.registry.list_strategies(allowed_strategies)
        if not strategies:
            raise StrategyNotFoundError(
                "no strategy is installed", hint="pip install deployer-local"
            )
        digest = scan_repository(root)
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
        ranking = self.rank(solution, allowed_strategies)
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
    lines = [f"Chosen strategy: {setting.strategy}", f"Why: {setting.reasoning}"]
    if goal:
        lines.append(f"Goal: {goal}")
    lines.append("Ranking:")
    for place, item in enumerate(setting.ranking, start=1):
        state = "available" if item.available else f"unavailable: {item.unavailable_reason}"
        lines.append(f"  {place}. {item.strategy}  score {item.score:g}  ({state})")
        lines.extend(f"       - {reason}" for reason in item.reasons)
    return "\n".join(lines)
