"""deployer-$name_dash: hook implementations only (import nothing heavier than deployer)."""

from __future__ import annotations

from deployer import StrategyPackage, hookimpl


@hookimpl
def deployer_register_strategy() -> StrategyPackage:
    return StrategyPackage(name="$name", package=__name__)
