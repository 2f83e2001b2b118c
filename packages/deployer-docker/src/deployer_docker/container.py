"""Small pieces of running a container: names, labels, limits, ports, exit reasons.

Plain data in, plain data out: what the engine returned (`attrs`) is read here, the engine
itself is called through `deployer_docker.sdk`."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from deployer.plugin import DeployFailedError

LABEL_PREFIX = "dev.deployer"
SERVER_PORT = 8080  # the generated image's server port (DEPLOYER_PORT)
EXIT_USAGE = 2
EXIT_IMPORT_FAILED = 3
EXIT_LOAD_FAILED = 4
EXIT_PORT_IN_USE = 98
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$", re.IGNORECASE)
_EXIT_MEANINGS = {
    EXIT_USAGE: "the serving runtime refused its arguments, entry spec or token",
    EXIT_IMPORT_FAILED: "importing the entry point failed",
    EXIT_LOAD_FAILED: "loading the entry point failed",
    97: "the server could not listen",
    EXIT_PORT_IN_USE: "its port was in use",
    126: "the command could not be executed",
    127: "the command was not found",
    137: "it was killed (SIGKILL)",
    139: "it crashed (segmentation fault)",
}


def safe_name(name: str) -> str:
    """A deployment name as an image repository / container name component."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "solution"


def image_tag(name: str, version: int = 1) -> str:
    """One tag per version: building version k+1 never moves the tag of the live version k,
    and pruning k removes k's image only."""
    return f"deployer/{safe_name(name)}:v{int(version)}"


def container_name(name: str) -> str:
    """Unique per deployment and per start-up: never collides with another deployment."""
    return f"deployer-{safe_name(name)}-{uuid.uuid4().hex[:8]}"


def labels(name: str, workspace: Path, version: int = 1) -> dict[str, str]:
    """What marks a container or image as deployer's, and whose."""
    return {
        f"{LABEL_PREFIX}.managed": "true",
        f"{LABEL_PREFIX}.strategy": "docker",
        f"{LABEL_PREFIX}.deployment": name,
        f"{LABEL_PREFIX}.version": str(int(version)),
        f"{LABEL_PREFIX}.workspace": str(workspace),
    }


def parse_memory(text: str) -> int:
    """'512m', '2g', '512Mi', '2Gi', '1.5G' or a byte count -> bytes."""
    match = _MEMORY.match(str(text))
    if match is None:
        raise DeployFailedError(
            f"memory limit {text!r} is not understood", hint="write it like 512m, 2g or 512Mi"
        )
    number, unit, _ = match.groups()
    power = " kmgt".index(unit.lower() or " ")
    return int(float(number) * 1024**power)


def limits(cpus: float | None, memory: str | None) -> dict[str, Any]:
    """SDK keyword arguments for the container's CPU and memory limits."""
    out: dict[str, Any] = {}
    if cpus:
        out["nano_cpus"] = int(float(cpus) * 1e9)
    if memory:
        out["mem_limit"] = parse_memory(memory)
    return out


def published_port(container: Any, container_port: int) -> int | None:
    """The host port the engine published container_port on (bridge networks)."""
    ports = (container.attrs.get("NetworkSettings") or {}).get("Ports") or {}
    for binding in ports.get(f"{container_port}/tcp") or []:
        port = binding.get("HostPort")
        if port:
            return int(port)
    return None


def exposed_port(image: Any) -> int | None:
    """The first TCP port the image's EXPOSE declares."""
    exposed = (image.attrs.get("Config") or {}).get("ExposedPorts") or {}
    ports = sorted(int(key.split("/")[0]) for key in exposed if key.endswith("/tcp"))
    return ports[0] if ports else None


def exit_reason(container: Any) -> tuple[int, str]:
    """(exit code, what it means) of a container that stopped."""
    state = container.attrs.get("State") or {}
    code = int(state.get("ExitCode") or 0)
    if state.get("OOMKilled"):
        return code, "it ran out of memory (raise --option memory)"
    meaning = _EXIT_MEANINGS.get(code, "")
    error = str(state.get("Error") or "").strip()
    return code, "; ".join(part for part in (meaning, error) if part)
