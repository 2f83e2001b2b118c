"""deployer-$name_dash: hook implementations only (import nothing heavier than deployer.plugin).

The package has the shape every strategy has: config.yaml, selector_instruction.md,
adapter_instruction.md, templates/, availability.py (stdlib only), runner.py. Add
workspace.py when the adapted copy needs preparing, and sdk.py as the only module that
imports your platform's SDK.
"""

from __future__ import annotations

from deployer.plugin import Availability, StrategyPackage, hookimpl


@hookimpl
def deployer_register_strategy() -> StrategyPackage:
    return StrategyPackage(name="$name", package=__name__)


@hookimpl
def deployer_check_availability(
    strategy: str, options: dict[str, object] | None
) -> Availability | None:
    """Beyond config.yaml's `requirements`: see availability.py."""
    if strategy != "$name":
        return None
    from $package.availability import check

    return check(options or {})
