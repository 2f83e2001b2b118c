"""deployer-docker: build a solution into an image and run it on a Docker engine.

Hook implementations only. The availability check talks to the engine's socket with the
standard library (`deployer_docker.availability`); the docker SDK is imported by
`deployer_docker.sdk` alone.
"""

from __future__ import annotations

from deployer.plugin import Availability, StrategyPackage, hookimpl


@hookimpl
def deployer_register_strategy() -> StrategyPackage:
    return StrategyPackage(name="docker", package=__name__)


@hookimpl
def deployer_check_availability(strategy: str, options: dict[str, object] | None) -> Availability:
    """Available when the engine that DOCKER_HOST (or the default socket) names answers a
    ping within a second."""
    from deployer_docker.availability import check_engine

    return check_engine()
