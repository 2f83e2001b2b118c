"""DeploymentPlan: everything decided about one deploy before anything is made.

The factory resolves the strategy, its options, its availability, the runner class, the name
and the resources exactly once, then hands the plan to the adapter and the runner: nothing
downstream looks a strategy up again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployer.models import DeploymentSetting, Resources, SolutionResult

if TYPE_CHECKING:  # annotations only: reattaching to a deployment never loads the registry
    from deployer.plugins.hookspecs import Availability
    from deployer.plugins.registry import Strategy
    from deployer.runtime.runner import Runner


@dataclass(frozen=True)
class DeploymentPlan:
    """One deploy, resolved: what runs where, under which name, with which options."""

    solution: SolutionResult
    setting: DeploymentSetting
    strategy: Strategy
    options: dict[str, Any]
    availability: Availability
    runner_class: type[Runner]
    name: str
    resources: Resources = field(default_factory=Resources)

    @property
    def source(self) -> Path:
        """The solution's directory, already checked to exist (read-only)."""
        return self.solution.code_path
