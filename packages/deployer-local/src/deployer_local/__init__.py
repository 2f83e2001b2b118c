"""deployer-local: run a solution on this machine. Hook implementations only."""

from __future__ import annotations

from deployer.plugin import StrategyPackage, hookimpl


@hookimpl
def deployer_register_strategy() -> StrategyPackage:
    return StrategyPackage(name="local", package=__name__)
