"""Can a Ray deployment work here? Stdlib only: never imports ray (it takes seconds)."""

from __future__ import annotations

import os
import socket

from deployer.plugin import Availability, module_installed

LOCAL = "local"


def cluster_address(options: dict[str, object]) -> str:
    """The cluster to deploy to: the `address` option, else RAY_ADDRESS, else a private one."""
    address = str(options.get("address") or "").strip()
    return address or os.environ.get("RAY_ADDRESS", "").strip() or LOCAL


def split_address(address: str) -> tuple[str, int] | None:
    """host and GCS port of `host:port` (an optional ray:// scheme dropped), or None."""
    address = address.removeprefix("ray://")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return None
    return host, int(port)


def gcs_answers(address: str, timeout: float = 2.0) -> bool:
    parts = split_address(address)
    if parts is None:
        return False
    try:
        with socket.create_connection(parts, timeout=timeout):
            return True
    except OSError:
        return False


def check(options: dict[str, object]) -> Availability | None:
    """None when usable; otherwise why not and what to do."""
    if not module_installed("ray.serve"):
        return Availability(
            False, "ray[serve] is not installed", 'pip install "deployer-ray" (brings ray[serve])'
        )
    address = cluster_address(options)
    if address in (LOCAL, "auto"):
        return None
    if split_address(address) is None:
        return Availability(
            False,
            f"the Ray address {address!r} is not host:port",
            "pass --option address=HOST:GCS_PORT (or address=local for a private cluster)",
        )
    if not gcs_answers(address):
        return Availability(
            False,
            f"no Ray cluster answers at {address}",
            "start one with `ray start --head`, or pass --option address=local",
        )
    return None
