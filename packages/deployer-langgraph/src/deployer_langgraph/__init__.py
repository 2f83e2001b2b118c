"""deployer-langgraph: serve agents and graphs on LangGraph servers. Hook implementations only.

Imports nothing but `deployer.plugin`, the standard library and this package's
standard-library-only `availability` module: listing strategies never imports langgraph or
langgraph_sdk.
"""

from __future__ import annotations

from deployer.plugin import Availability, StrategyPackage, hookimpl
from deployer_langgraph import availability


@hookimpl
def deployer_register_strategy() -> StrategyPackage:
    return StrategyPackage(name="langgraph", package=__name__)


@hookimpl
def deployer_check_availability(
    strategy: str, options: dict[str, object] | None, env_keys: list[str]
) -> Availability | None:
    """dev needs langgraph-cli[inmem] here; cloud needs a server URL and an API key (from the
    shell, or given to the deployment with --env / --env-file)."""
    if strategy != "langgraph":
        return None
    return availability.availability(options, env_keys)
