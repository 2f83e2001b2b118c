"""A solution that is a Ray Serve application already, written the way Ray Serve's docs write
it (`@serve.deployment` class with `__call__(self, request)`, a FastAPI `@serve.ingress`
class, `app = Deployment.bind(...)` at module level), served as its author wrote it on the
real two-node cluster: the author's decorator options kept unless --option overrides them,
and versions of a name, each its own Serve application, under a steady stream of calls."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

import deployer
from deployer.deployment.factory import DeploymentFactory
from deployer.deployment.versions import rollback
from deployer.errors import DeployFailedError
from deployer.testing import write_solution

pytestmark = pytest.mark.slow

# Ray Serve's docs' first deployment: a class with options in its decorator, a constructor
# argument given by bind(), __call__ taking the Starlette request.
GREETER = """
    import os

    import ray
    from ray import serve
    from starlette.requests import Request


    @serve.deployment(num_replicas=2, ray_actor_options={{"num_cpus": 0.25}})
    class Greeter:
        def __init__(self, greeting: str):
            {init}
            self.greeting = greeting

        async def __call__(self, request: Request) -> dict:
            body = await request.json()
            return {{
                "text": f"{{self.greeting}} {{body['name']}}",
                "pid": os.getpid(),
                "node": ray.get_runtime_context().get_node_id(),
            }}


    app = Greeter.bind("{greeting}")
"""


def greeter(greeting: str = "Hello", init: str = "pass") -> dict[str, str]:
    return {
        "greeter.py": GREETER.format(greeting=greeting, init=init),
        "requirements.txt": "ray[serve]\n",
    }


def test_a_serve_application_is_served_as_written(ray_deployments) -> None:
    runner = ray_deployments.deploy(greeter(), name="greeter")
    interface = runner.context.run_interface
    assert (interface.entry_kind, interface.entrypoint) == ("serve_app", "greeter:app")
    assert "pip" not in runner.runtime_env()  # the cluster's Ray, not ray[serve] from pip
    with ThreadPoolExecutor(8) as pool:  # concurrent, so that both replicas answer
        answers = list(pool.map(lambda i: runner.run({"name": f"n{i}"}), range(40)))
    assert [a["output"]["text"] for a in answers] == [f"Hello n{i}" for i in range(40)]
    details = runner.details()
    # the author's num_replicas=2 and num_cpus=0.25, not deployer's defaults
    assert details["replicas"] == 2 and details["entry_kind"] == "serve_app"
    assert details["serve_options"] == {
        "deployment": "Greeter",
        "num_replicas": 2,
        "ray_actor_options": {"num_cpus": 0.25},
    }
    assert len({a["output"]["pid"] for a in answers}) == 2
    assert {a["output"]["node"] for a in answers} <= set(details["replica_nodes"])
    # the author's Greeter is the deployment Serve runs, under deployer's application name
    from ray import serve

    deployments = serve.status().applications["deployer-greeter"].deployments
    assert set(deployments) == {"Greeter"}


# Ray Serve's FastAPI ingress, the docs' way: routes on the deployment class's methods.
SHOUTER = {
    "app.py": """
        from fastapi import FastAPI, HTTPException
        from pydantic import BaseModel
        from ray import serve

        api = FastAPI()


        class Item(BaseModel):
            text: str


        @serve.deployment(num_replicas=1, ray_actor_options={"num_cpus": 0.25})
        @serve.ingress(api)
        class Shouter:
            @api.post("/shout")
            def shout(self, item: Item) -> dict:
                if not item.text:
                    raise HTTPException(status_code=400, detail="empty text")
                return {"shout": item.text.upper()}

            @api.get("/health")
            def health(self) -> dict:
                return {"ok": True}


        shouter_app = Shouter.bind()
    """,
    "requirements.txt": "ray[serve]\n",  # ray[serve] brings FastAPI
}


def test_a_fastapi_ingress_with_an_option_overriding_the_decorator(ray_deployments) -> None:
    runner = ray_deployments.deploy(SHOUTER, name="shouter", options={"num_replicas": 2})
    assert runner.context.run_interface.route == "/shout"  # its one POST route
    assert runner.run({"text": "hi ray"}) == {"status": "success", "output": {"shout": "HI RAY"}}
    empty = runner.run({"text": ""})
    assert empty["status"] == "error" and "400" in empty["error"] and "empty text" in empty["error"]
    details = runner.details()
    assert details["replicas"] == 2  # --option num_replicas=2 over the decorator's 1
    assert details["serve_options"]["ray_actor_options"] == {"num_cpus": 0.25}  # kept
    health = httpx.get(f"{runner.endpoint}/health", trust_env=False)
    assert health.json() == {"ok": True}


@pytest.fixture
def ray_versions(ray_cluster, deployer_home, monkeypatch):
    """deployer.deploy on the session cluster; every version removed afterwards."""
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster["address"])
    yield
    factory = DeploymentFactory()
    for name in factory.store.names():
        factory.remove(name, force=True)


def test_versions_of_a_serve_application_under_a_steady_stream(ray_versions, tmp_path) -> None:
    """Each version is its own Serve application beside the live one; the name switches once
    the new one is RUNNING, then the old application is deleted. No call fails meanwhile."""
    from deployer_ray import sdk

    source = write_solution(tmp_path / "greeter", greeter("Hello"))
    first = deployer.deploy(source, "ray", name="gr")
    assert first.run({"name": "a"})["output"]["text"] == "Hello a"
    results: list[dict] = []
    done = threading.Event()

    def call_steadily() -> None:
        while not done.is_set():
            results.append(deployer.attach("gr").run({"name": "x"}))

    caller = threading.Thread(target=call_steadily)
    caller.start()
    try:
        write_solution(source, greeter("Howdy"))
        second = deployer.deploy(source, "ray", name="gr")
        during_switch = len(results)
        # version 3 fails in its replicas' constructor: the name stays on version 2
        write_solution(source, greeter("Oops", init="raise RuntimeError('broken v3')"))
        with pytest.raises(DeployFailedError) as failed:
            deployer.deploy(source, "ray", name="gr")
    finally:
        done.set()
        caller.join(60)
    failures = [r for r in results if r["status"] != "success"]
    assert failures == [] and during_switch > 3, failures[:3]
    texts = [r["output"]["text"] for r in results]
    assert texts[0] == "Hello x" and "Howdy x" in texts
    assert texts.index("Howdy x") == len(texts) - texts[::-1].index("Hello x")  # one switch
    assert "Oops x" not in texts
    assert "version 3 of 'gr' failed, so gr stays on version 2 (still serving)" in (
        failed.value.message
    )
    # the replica's own error, in one line (it was the separate broken-replica test)
    assert "broken v3" in failed.value.message and "\n" not in failed.value.message
    assert "Traceback" not in failed.value.message
    assert second.version == 2 and second.runner.app_name == "deployer-gr-v2"
    assert second.endpoint.endswith("/gr/v2")
    assert sdk.app_status("deployer-gr")["status"] == "NOT_DEPLOYED"  # version 1 stopped
    assert sdk.app_status("deployer-gr-v3")["status"] == "NOT_DEPLOYED"  # the failed one gone
    back = rollback(DeploymentFactory(), "gr")
    assert back.version == 1 and back.run({"name": "r"})["output"]["text"] == "Hello r"
    assert deployer.attach("gr").run({"name": "s"})["output"]["text"] == "Hello s"
    assert sdk.app_status("deployer-gr-v2")["status"] == "NOT_DEPLOYED"
    assert Path(second.info.adapted_path).is_dir()  # kept on disk for a rollback
