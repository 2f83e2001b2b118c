"""deployer-ray on a real two-node Ray cluster (head + worker with resource node_b)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from deployer.errors import DeployFailedError

pytestmark = pytest.mark.slow

NODE_FN = {
    "main.py": """
        import ray

        def predict(text: str) -> dict:
            return {"node": ray.get_runtime_context().get_node_id(), "text": text.upper()}
    """
}


def test_two_replicas_serve_from_both_nodes(ray_deployments) -> None:
    # Each node has 1 CPU and each replica asks for 1 (Serve's controller and proxy take 0):
    # two replicas can only run one per node.
    runner = ray_deployments.deploy(
        NODE_FN,
        name="spread",
        options={"num_replicas": 2, "num_cpus": 1},
        entrypoint="main:predict",
    )
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: runner.run({"text": f"t{i}"}), range(60)))
    assert all(a["status"] == "success" for a in answers), answers[:3]
    assert {a["output"]["text"] for a in answers} == {f"T{i}" for i in range(60)}
    nodes = {a["output"]["node"] for a in answers}
    assert len(nodes) == 2, nodes
    details = runner.details()  # what `deployer status` shows
    assert details["replicas"] == 2 and details["serve_status"] == "RUNNING"
    assert sorted(details["replica_nodes"]) == sorted(nodes)


def test_broken_entry_point_fails_in_one_line(ray_deployments) -> None:
    with pytest.raises(DeployFailedError) as info:
        ray_deployments.deploy(
            {"main.py": "import not_a_module_xyz\n\n\ndef predict(text):\n    return text\n"},
            name="broken",
            entrypoint="main:predict",
        )
    message = info.value.message
    assert "\n" not in message
    assert "not_a_module_xyz" in message


LOAD_STEP = {
    "model.py": """
        import os

        LOADS = 0
        PREFIX = ""


        def load() -> None:
            global LOADS, PREFIX
            LOADS += 1
            PREFIX = "hello "


        def predict(name: str) -> dict:
            return {"text": PREFIX + name, "loads": LOADS, "pid": os.getpid()}
    """
}


def test_load_step_runs_once_per_replica(ray_deployments) -> None:
    runner = ray_deployments.deploy(
        LOAD_STEP,
        name="cls",
        options={"num_replicas": 2, "num_cpus": 0.5},
        entrypoint="model:predict",
    )
    answers = [runner.run({"name": f"n{i}"}) for i in range(20)]
    assert [a["output"]["text"] for a in answers] == [f"hello n{i}" for i in range(20)]
    assert {a["output"]["loads"] for a in answers} == {1}
    from deployer_ray import sdk

    assert sdk.app_status("deployer-cls")["replicas"] == 2  # each loaded once in its own process
    assert runner.run({"wrong": 1})["status"] == "error"


def test_requirement_installed_through_runtime_env_pip(ray_deployments) -> None:
    runner = ray_deployments.deploy(
        {
            "requirements.txt": "python-slugify==8.0.4\n",
            "main.py": """
                from slugify import slugify

                def predict(text: str) -> str:
                    return slugify(text)
            """,
        },
        name="slug",
        options={"num_cpus": 0.5},
        entrypoint="main:predict",
    )
    assert runner.run({"text": "Hello Ray World"}) == {
        "status": "success",
        "output": "hello-ray-world",
    }


def test_stop_deletes_only_this_application(ray_deployments) -> None:
    from deployer_ray import sdk

    keep = ray_deployments.deploy(
        NODE_FN, name="keep", options={"num_cpus": 0.25}, entrypoint="main:predict"
    )
    gone = ray_deployments.deploy(
        NODE_FN, name="gone", options={"num_cpus": 0.25}, entrypoint="main:predict"
    )
    gone.stop()
    assert not gone.is_healthy()
    assert keep.is_healthy()
    assert keep.run({"text": "x"})["output"]["text"] == "X"
    assert sdk.app_status("deployer-gone")["status"] == "NOT_DEPLOYED"
    # reattached from saved state, as another process would
    again = ray_deployments.runner(keep.context, dict(keep.state))
    assert again.is_healthy()
    assert again.details()["replicas"] == 1


SLOW_FN = {
    "main.py": """
        import time

        def predict(seconds: float) -> float:
            time.sleep(seconds)
            return seconds
    """
}


def test_autoscaling_grows_under_a_burst_and_shrinks_after(ray_deployments) -> None:
    from deployer_ray import sdk

    runner = ray_deployments.deploy(
        SLOW_FN,
        name="auto",
        entrypoint="main:predict",
        options={
            "autoscaling": True,
            "min_replicas": 1,
            "max_replicas": 2,
            "target_ongoing_requests": 1,
            "num_cpus": 0.25,
        },
    )
    assert sdk.app_status("deployer-auto")["replicas"] == 1
    busy = threading.Event()
    busy.set()

    def keep_calling() -> list[str]:
        answers = []
        while busy.is_set():
            answers.append(runner.run({"seconds": 1.0})["status"])
        return answers

    peak = 1
    with ThreadPoolExecutor(6) as pool:  # six callers: six requests in flight, target 1
        callers = [pool.submit(keep_calling) for _ in range(6)]
        for _ in range(180):  # the burst lasts until the second replica runs (bounded)
            peak = max(peak, sdk.app_status("deployer-auto")["replicas"])
            if peak == 2:
                break
            time.sleep(1)
        busy.clear()
        statuses = [status for caller in callers for status in caller.result()]
    assert peak == 2
    assert statuses and set(statuses) == {"success"}
    for _ in range(120):  # bounded wait: Serve scales down after downscale_delay_s
        if sdk.app_status("deployer-auto")["replicas"] == 1:
            break
        time.sleep(1)
    assert sdk.app_status("deployer-auto")["replicas"] == 1
