"""The docker SDK, imported only here and only when a runner method needs the engine.

Every SDK exception becomes one readable line (`describe`), so no docker or requests
exception type ever reaches deployer's users.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deployer.errors import DeployerError
from deployer_docker.engine import check_engine, docker_host

if TYPE_CHECKING:
    import docker

API_TIMEOUT = 120


def describe(exc: BaseException) -> str:
    """An SDK (or requests) exception as one line, without the HTTP plumbing."""
    explanation = getattr(exc, "explanation", None)
    if explanation:
        text = explanation.decode() if isinstance(explanation, bytes) else str(explanation)
    else:
        text = str(exc)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first or type(exc).__name__


def connect(error: type[DeployerError], timeout: int = API_TIMEOUT) -> docker.DockerClient:
    """A client for the engine DOCKER_HOST names, or `error` saying why there is none."""
    availability = check_engine()
    if not availability.available:
        raise error(f"the Docker engine is not reachable: {availability.reason}",
                    hint=availability.hint or None)  # fmt: skip
    try:
        import docker
    except ImportError:
        raise error("the docker SDK is not installed", hint="pip install 'docker>=7.1'") from None
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:
        raise error(
            f"cannot talk to the Docker engine at {docker_host()}: {describe(exc)}"
        ) from None
    return client


def is_not_found(exc: BaseException) -> bool:
    import docker.errors

    return isinstance(exc, docker.errors.NotFound)


def get_container(client: docker.DockerClient, ident: str | None) -> Any | None:
    """The container, or None when it is gone."""
    if not ident:
        return None
    import docker.errors

    try:
        return client.containers.get(ident)
    except docker.errors.NotFound:
        return None


def has_network(client: docker.DockerClient, name: str) -> bool:
    import docker.errors

    try:
        client.networks.get(name)
    except docker.errors.NotFound:
        return False
    return True
