"""deployer-langgraph: serve agents and graphs on LangGraph servers. Hook implementations only.

Imports nothing but `deployer`, the standard library and this package's standard-library-only
`settings` module: listing strategies never imports langgraph or langgraph_sdk.
"""

from __future__ import annotations

from deployer import StrategyPackage, hookimpl
from deployer.plugins.hookspecs import Availability
from deployer_langgraph import settings


@hookimpl
def deployer_register_strategy() -> StrategyPackage:
    return StrategyPackage(name="langgraph", package=__name__)


@hookimpl
def deployer_check_availability(
    strategy: str, options: dict[str, object] | None
) -> Availability | None:
    """dev needs langgraph-cli[inmem] here; cloud needs a server URL and an API key."""
    if strategy != "langgraph":
        return None
    return settings.availability(options)
