"""A real two-node Ray cluster on this machine for the session, and deployments on it.

`deployments`, `registry` and `deployer_home` are core's (deployer.testing.fixtures, through
deployer's pytest plugin); here only what is Ray's: the cluster, and `ray_deployments`, core's
helper aimed at it through RAY_ADDRESS.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest

from deployer.testing import Deployments

HAVE_RAY = importlib.util.find_spec("ray") is not None


@pytest.fixture(scope="session")
def deployer_strategy() -> str:
    return "ray"


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Head (1 CPU) + worker (1 CPU, resource node_b) started by pid, stopped by pid."""
    if not HAVE_RAY:
        pytest.skip("ray[serve] is not installed (pip install 'ray[serve]')")
    from deployer_ray import cluster, sdk

    root = tmp_path_factory.mktemp("ray")
    head = cluster.start_head(root / "head", num_cpus=1)
    try:
        worker = cluster.start_worker(
            head.address, root / "worker", num_cpus=1, resources={"node_b": 1}
        )
    except Exception:
        cluster.stop_node(head.pid)
        raise
    try:
        yield {"address": head.address, "head": head, "worker": worker}
    finally:
        sdk.disconnect()
        cluster.stop_node(worker.pid)
        cluster.stop_node(head.pid)


@pytest.fixture
def ray_deployments(
    deployments: Deployments, ray_cluster: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Deployments:
    """Core's `deployments` (removed after the test), deploying to the session cluster."""
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster["address"])
    return deployments
