"""deployer-bentoml: serve a solution with BentoML. Hook implementations only."""

from __future__ import annotations

from deployer.plugin import Availability, StrategyPackage, hookimpl


@hookimpl
def deployer_register_strategy() -> StrategyPackage:
    return StrategyPackage(name="bentoml", package=__name__)


@hookimpl
def deployer_check_availability(
    strategy: str, options: dict[str, object] | None
) -> Availability | None:
    """The local target needs only bentoml (config.yaml checks it); bentocloud needs a login.

    The default target is local, so listing (options None) reports the strategy available and
    only a deploy that asks for `target=bentocloud` is refused without a login.
    """
    if strategy != "bentoml" or not options or options.get("target") != "bentocloud":
        return None
    from deployer_bentoml.availability import find_login  # no bentoml import

    login = find_login()
    if login.found:
        return None
    return Availability(False, login.reason, login.hint)
