"""Every entry kind deployer-ray serves, on the real two-node cluster: a Truss-shaped class
loaded once per replica, a FastAPI app as the Serve ingress, a generator streamed, the
replicas' logs, and the replica count and nodes in `deployer status`."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner

from deployer.cli.main import main
from deployer.testing import write_solution

pytestmark = pytest.mark.slow

# The layout Truss's own template writes (`truss init`): config.yaml + model/model.py.
TRUSS = {
    "config.yaml": """
        model_name: greeter
        model_class_name: Model
        model_module_dir: model
        python_version: py311
        requirements: []
        resources:
          cpu: "500m"
          memory: 512Mi
          use_gpu: false
    """,
    "model/model.py": """
        import os


        class Model:
            def __init__(self, **kwargs):
                self._loads = 0
                self._prefix = None

            def load(self):
                self._loads += 1
                self._prefix = "hello "
                print(f"greeter loaded in pid {os.getpid()}", flush=True)

            def predict(self, model_input: dict) -> dict:
                return {
                    "text": self._prefix + model_input["name"],
                    "loads": self._loads,
                    "pid": os.getpid(),
                }
    """,
}


def test_class_with_load_step_is_loaded_once_per_replica(ray_deployments) -> None:
    runner = ray_deployments.deploy(
        TRUSS, name="greeter", options={"num_replicas": 2, "num_cpus": 0.25}
    )
    assert runner.context.run_interface.entry_kind == "class"
    with ThreadPoolExecutor(8) as pool:  # concurrent, so that both replicas answer
        answers = list(pool.map(lambda i: runner.run({"name": f"n{i}"}), range(60)))
    assert [a["output"]["text"] for a in answers] == [f"hello n{i}" for i in range(60)]
    assert {a["output"]["loads"] for a in answers} == {1}
    assert runner.details()["replicas"] == 2
    assert runner.run({"wrong": 1})["status"] == "error"  # KeyError in predict: an envelope
    logs = runner.logs()
    pids = {a["output"]["pid"] for a in answers}
    assert len(pids) == 2  # one process per replica, each replica's load line in the logs
    assert all(f"greeter loaded in pid {pid}" in logs for pid in pids), logs[-2000:]
    assert runner.logs(tail=3).count("\n") <= 3


FASTAPI_APP = {
    "main.py": """
        from fastapi import FastAPI, HTTPException
        from pydantic import BaseModel

        app = FastAPI()


        class Item(BaseModel):
            text: str


        @app.post("/shout")
        def shout(item: Item) -> dict:
            if not item.text:
                raise HTTPException(status_code=400, detail="empty text")
            return {"shout": item.text.upper()}


        @app.get("/health")
        def health() -> dict:
            return {"ok": True}
    """,
}


def test_fastapi_app_is_the_serve_ingress(ray_deployments) -> None:
    import httpx

    runner = ray_deployments.deploy(FASTAPI_APP, name="shouter", options={"num_cpus": 0.25})
    assert runner.context.run_interface.entry_kind == "asgi"
    assert runner.details()["entry_kind"] == "asgi"
    assert runner.run({"text": "hi ray"}) == {"status": "success", "output": {"shout": "HI RAY"}}
    empty = runner.run({"text": ""})
    assert empty["status"] == "error" and "400" in empty["error"] and "empty text" in empty["error"]
    invalid = runner.run({"nope": 1})  # FastAPI's own validation answers 422
    assert invalid["status"] == "error" and "422" in invalid["error"]
    # the app's other routes answer under the application's route prefix, as the app wrote them
    assert httpx.get(f"{runner.endpoint}/health", trust_env=False).json() == {"ok": True}


GENERATOR = {
    "main.py": """
        def predict(n: int):
            for i in range(n):
                yield {"i": i, "square": i * i}
    """
}


def test_generator_streams_item_by_item(ray_deployments) -> None:
    runner = ray_deployments.deploy(
        GENERATOR, name="counter", options={"num_cpus": 0.25}, entrypoint="main:predict"
    )
    parts = list(runner.stream({"n": 4}))
    assert parts[:-1] == [{"status": "item", "output": {"i": i, "square": i * i}} for i in range(4)]
    assert parts[-1] == {"status": "success"}
    # run collects the same items into one answer
    assert runner.run({"n": 3}) == {
        "status": "success",
        "output": [{"i": i, "square": i * i} for i in range(3)],
    }
    bad = list(runner.stream({"n": "many"}))
    assert len(bad) == 1 and bad[0]["status"] == "error" and "n" in bad[0]["error"]


def test_status_shows_replicas_and_their_nodes(ray_cluster, deployer_home, tmp_path) -> None:
    """Through the real CLI: deploy, `deployer status --json`, `deployer rm`."""
    source = write_solution(
        tmp_path / "hello",
        {"main.py": "def predict(name: str) -> str:\n    return 'hi ' + name\n"},
    )
    cli = CliRunner()
    options = [f"address={ray_cluster['address']}", "num_replicas=2", "num_cpus=0.25"]
    flags = [part for option in options for part in ("--option", option)]
    deploy = cli.invoke(
        main, ["deploy", str(source), "--strategy", "ray", "--name", "hello", *flags]
    )
    try:
        assert deploy.exit_code == 0, deploy.output
        shown = cli.invoke(main, ["status", "hello", "--json"])
        assert shown.exit_code == 0, shown.output
        report = json.loads(shown.output)
        assert report["status"] == "running" and report["strategy"] == "ray"
        details = report["details"]
        assert details["replicas"] == 2 and details["serve_status"] == "RUNNING"
        assert len(details["replica_nodes"]) == 2
        assert set(details["replica_nodes"]) <= cluster_nodes()
        text = cli.invoke(main, ["status", "hello"])
        assert "replicas:       2" in text.output and "replica_nodes:" in text.output
    finally:
        removed = cli.invoke(main, ["rm", "hello"])
    assert removed.exit_code == 0, removed.output
    from deployer_ray import sdk

    assert sdk.app_status("deployer-hello")["status"] == "NOT_DEPLOYED"


def cluster_nodes() -> set[str]:
    import ray

    return {node["NodeID"] for node in ray.nodes() if node["Alive"]}
