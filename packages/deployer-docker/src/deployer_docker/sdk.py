"""The only module that imports the docker SDK, and only when a runner method needs the engine.

Every SDK exception becomes one readable line (`describe`), so no docker or requests
exception type ever reaches deployer's users. The other modules work on the client and the
objects it returns (containers, images) without importing the SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from deployer.plugin import DeployerError, DeployFailedError
from deployer_docker.availability import check_engine, docker_host

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


def remove_image_quietly(client: docker.DockerClient, ident: str) -> None:
    """Untag (or delete) an image without force: an image another tag or a container still
    uses is left to them, and one already gone is fine."""
    import docker.errors

    try:
        client.images.remove(ident)
    except (docker.errors.NotFound, docker.errors.APIError) as exc:
        if isinstance(exc, docker.errors.NotFound) or exc.status_code == 409:
            return
        raise


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


def get_or_pull_image(
    client: docker.DockerClient, name: str, progress: Callable[[str], None]
) -> Any:
    """The image the engine has under `name`, pulled when it has none."""
    try:
        return client.images.get(name)
    except Exception as exc:
        if not is_not_found(exc):
            raise DeployFailedError(
                f"cannot inspect the base image {name!r}: {describe(exc)}"
            ) from None
    progress(f"pulling {name}")
    try:
        return client.images.pull(name)
    except Exception as exc:
        raise DeployFailedError(
            f"the base image {name!r} is not on the engine and cannot be pulled: {describe(exc)}",
            hint="load or build it first, or pass --option base_image=<an image the engine has>",
        ) from None


def run_once(client: docker.DockerClient, image_id: str, command: list[str]) -> str:
    """The output of `command` in a throw-away container without network."""
    output = client.containers.run(image_id, command, remove=True, network_mode="none")
    return output.decode("utf-8", errors="replace")


def build_stream(client: docker.DockerClient, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """The engine's decoded build output, chunk by chunk (`docker build`'s JSON stream)."""
    return client.api.build(decode=True, **kwargs)


def image_exists(client: docker.DockerClient, ident: str) -> bool:
    try:
        client.images.get(ident)
    except Exception as exc:
        if is_not_found(exc):
            return False
        raise DeployFailedError(f"cannot inspect the image: {describe(exc)}") from None
    return True


def logs_text(container: Any, tail: int | None = None) -> str:
    """A container's stdout and stderr, decoded (the last `tail` lines when given)."""
    raw = container.logs(stdout=True, stderr=True, tail=tail if tail and tail > 0 else "all")
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
