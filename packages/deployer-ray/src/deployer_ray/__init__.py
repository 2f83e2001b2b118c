"""deployer-ray: serve a solution as a Ray Serve application. Hook implementations only."""

from __future__ import annotations

from deployer.plugin import Availability, StrategyPackage, hookimpl


@hookimpl
def deployer_register_strategy() -> StrategyPackage:
    return StrategyPackage(name="ray", package=__name__)


@hookimpl
def deployer_check_availability(
    strategy: str, options: dict[str, object] | None
) -> Availability | None:
    """ray must be installed; a remote cluster address must answer (stdlib only, no ray import)."""
    if strategy != "ray":
        return None
    from deployer_ray.availability import check

    return check(options or {})
