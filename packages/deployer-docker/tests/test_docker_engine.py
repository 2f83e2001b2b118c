"""Against a real Docker engine: build, run, call, stop, start, remove, and the failures users
meet (a failing build step, a container that dies at start-up)."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from deployer.deployment.factory import DeploymentFactory
from deployer.errors import DeployFailedError
from deployer.models import DeployConfig, Resources, SolutionResult
from deployer.plugins.registry import StrategyRegistry
from deployer.testing import tree_hash, wait_until
from docker_support import EXAMPLES, Deployments, Engine

pytestmark = [pytest.mark.real, pytest.mark.slow]

ECHO = {
    "main.py": """
    import os

    def predict(text, times=1):
        return {
            "text": text * times,
            "secret": os.environ.get("DEPLOYER_TEST_SECRET"),
            "uid": os.getuid(),
            "cwd": os.getcwd(),
        }
    """
}


def container_of(engine: Engine, runner) -> dict:
    client = engine.client()
    try:
        return client.api.inspect_container(runner.state["container_id"])
    finally:
        client.close()


def test_example_end_to_end_through_the_factory(
    registry: StrategyRegistry, docker_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """examples/hello deployed by the factory (select -> adapt -> build -> run -> health),
    called, with limits, labels, a non-root user and the original left untouched. The build
    log is streamed as progress (to the `deployer_docker` logger: the factory has no way to
    hand its progress sink to a runner yet)."""
    source = EXAMPLES / "hello"
    before = tree_hash(source)
    caplog.set_level(logging.INFO, logger="deployer_docker")
    config = DeployConfig(
        solution=SolutionResult(code_path=source),
        strategy="docker",
        name="e2e-hello",
        options=docker_engine.options(cpus=0.5, memory="256m"),
        resources=Resources(cpu=1.0),
        startup_timeout=300,
    )
    docker_engine.tags.add("deployer/e2e-hello:latest")
    software = DeploymentFactory(registry).create(config)
    try:
        assert software.run({"name": "Ada"}) == {
            "status": "success",
            "output": {"message": "Hello, Ada!", "length": 3},
        }
        assert software.is_healthy()
        info = software.info
        assert info.status == "running" and info.provider == "docker"
        assert info.endpoint and info.endpoint.startswith("http://")
        state = info.runner_state
        assert state["image_id"].startswith("sha256:") and state["container_id"]
        json.dumps(state)
        attrs = container_of(docker_engine, software.runner)
        assert attrs["Config"]["User"] == "10001"
        assert attrs["Config"]["Labels"]["dev.deployer.deployment"] == "e2e-hello"
        assert attrs["Config"]["Labels"]["dev.deployer.managed"] == "true"
        assert attrs["HostConfig"]["NanoCpus"] == 500_000_000  # the option beats resources
        assert attrs["HostConfig"]["Memory"] == 256 * 1024**2
        assert attrs["Name"].lstrip("/").startswith("deployer-e2e-hello-")
        token = software.runner.token_file.read_text().strip()
        assert httpx.get(f"{info.endpoint}/readyz", trust_env=False).status_code == 401
        ready = httpx.get(
            f"{info.endpoint}/readyz", headers={"Authorization": f"Bearer {token}"}, trust_env=False
        ).json()
        assert ready["status"] == "ready" and ready["entrypoint"] == "main:predict"
        assert ready["pid"] == 1  # the runtime is the container's main process
        assert token not in json.dumps(info.model_dump(mode="json"))
        wrong = software.run({"nobody": "x"})
        assert wrong["status"] == "error" and "nobody" in wrong["error"]
        assert "unknown field (expected fields: name, greeting)" in wrong["error"]
        # the runtime writes access lines in batches (every 0.25 s): wait for the batch
        wait_until(lambda: "POST /run" in software.logs(), limit=10, interval=0.1)
        assert "POST /run" in software.logs()
        steps = [r.getMessage() for r in caplog.records if r.name == "deployer_docker"]
        assert any(step.startswith("building image: Step 2/9 : FROM") for step in steps)
        assert any(step.startswith("starting container deployer-e2e-hello-") for step in steps)
    finally:
        software.remove()
    assert tree_hash(source) == before


def test_two_deployments_side_by_side(deployments: Deployments) -> None:
    first = deployments.deploy(ECHO, name="twin-a", env={"DEPLOYER_TEST_SECRET": "a"})
    second = deployments.deploy(ECHO, name="twin-b", env={"DEPLOYER_TEST_SECRET": "b"})
    assert first.state["container_name"] != second.state["container_name"]
    assert first.endpoint != second.endpoint
    one = first.run({"text": "x", "times": 2})
    two = second.run({"text": "y"})
    assert one["output"]["text"] == "xx" and one["output"]["secret"] == "a"
    assert two["output"]["text"] == "y" and two["output"]["secret"] == "b"
    assert one["output"]["uid"] == 10001 and one["output"]["cwd"] == "/app"


def test_third_party_requirements_from_the_wheelhouse(deployments: Deployments) -> None:
    """examples/slugify needs python-slugify: downloaded on the host, installed offline."""
    runner = deployments.deploy(source=EXAMPLES / "slugify", name="slug")
    result = runner.run({"text": "Héllo Wörld, again!"})
    assert result == {"status": "success", "output": {"slug": "hello-world-again"}}
    wheels = list((runner.context.adapted_path / "deployer-wheels").glob("*.whl"))
    assert any(w.name.startswith("python_slugify-") for w in wheels)
    requirements = (runner.context.adapted_path / "deployer-requirements.txt").read_text()
    assert requirements.startswith("--no-index\n--find-links /opt/deployer\n")


def test_unknown_requirement_is_named(deployments: Deployments) -> None:
    files = {**ECHO, "requirements.txt": "deployer-no-such-package-xyz==1.0\n"}
    with pytest.raises(DeployFailedError) as caught:
        deployments.deploy(files, name="nosuch")
    assert "deployer-no-such-package-xyz" in caught.value.message
    assert "Traceback" not in str(caught.value)


def test_build_failure_shows_the_failing_step(deployments: Deployments) -> None:
    files = {
        "main.py": "def predict(x):\n    return x\n",
        "Dockerfile": """
            ARG BASE_IMAGE=python:3.11-slim
            FROM ${BASE_IMAGE}
            RUN echo "compiling the frobnicator" && echo "frob.c:3: error: no frob" >&2 && exit 7
            CMD ["python3"]
        """,
    }
    with pytest.raises(DeployFailedError) as caught:
        deployments.deploy(files, name="badbuild", options={"predict_path": "/predict"})
    message = caught.value.message
    assert "building the image failed at Step 3/4 : RUN echo" in message
    assert "compiling the frobnicator" in message
    assert "frob.c:3: error: no frob" in message
    assert "returned a non-zero code: 7" in message
    assert "build.log" in (caught.value.hint or "")


def test_container_that_exits_at_start_up(deployments: Deployments) -> None:
    files = {
        "main.py": """
            raise RuntimeError("the model file weights.bin is missing")

            def predict(x):
                return x
        """
    }
    context = deployments.context(files, name="crasher")
    runner = deployments.runner(context)
    with pytest.raises(DeployFailedError) as caught:
        runner.deploy()
    message = caught.value.message
    assert "exited during start-up with code 3 (importing the entry point failed)" in message
    assert "the model file weights.bin is missing" in message
    assert "deployer logs crasher" in (caught.value.hint or "")
    logs = runner.logs()
    assert "Traceback" in logs and "weights.bin is missing" in logs
    assert runner.is_healthy() is False
    assert runner.status() == "failed"


def test_stop_start_and_remove(deployments: Deployments, docker_engine: Engine) -> None:
    runner = deployments.deploy(ECHO, name="cycle")
    assert runner.run({"text": "a"})["status"] == "success"
    runner.stop()
    assert runner.is_healthy() is False
    assert runner.status() == "stopped"
    stopped = runner.run({"text": "a"})
    assert stopped["status"] == "error" and "deployer start cycle" in stopped["error"]
    runner.stop()  # idempotent
    runner.start()
    assert runner.is_healthy() and runner.status() == "running"
    assert runner.run({"text": "b"})["output"]["text"] == "b"
    container_id, image_id = runner.state["container_id"], runner.state["image_id"]
    runner.remove()
    client = docker_engine.client()
    try:
        assert not client.containers.list(all=True, filters={"id": container_id})
        assert client.images.get(image_id)  # the image stays unless asked
        runner.remove()  # idempotent
        runner.state["image_id"] = image_id
        runner.remove(image=True)
        # this deployment's tag is gone; the image itself goes too unless another deployment's
        # tag still names the same build (an identical solution elsewhere in the session)
        left = [i for i in client.images.list() if i.id == image_id]
        assert not any(t.startswith("deployer/cycle:") for i in left for t in i.tags)
        assert all(i.tags for i in left)
    finally:
        client.close()


def test_start_recreates_a_container_removed_behind_our_back(
    deployments: Deployments, docker_engine: Engine
) -> None:
    runner = deployments.deploy(ECHO, name="phoenix")
    client = docker_engine.client()
    try:
        client.containers.get(runner.state["container_id"]).remove(force=True)
    finally:
        client.close()
    assert runner.is_healthy() is False
    runner.start()
    assert runner.run({"text": "again"})["output"]["text"] == "again"


def test_solution_with_its_own_dockerfile(deployments: Deployments) -> None:
    """examples/docker_webapp: built from its own Dockerfile, called on --option predict_path."""
    runner = deployments.deploy(
        source=EXAMPLES / "docker_webapp",
        name="webapp",
        options={"predict_path": "/predict", "health_path": "/healthz"},
    )
    assert runner.state["mode"] == "own"
    assert runner.run({"text": "hello docker world"}) == {
        "status": "success",
        "output": {"words": 3, "shout": "HELLO DOCKER WORLD"},
    }
    bad = runner.run({"wrong": 1})
    assert bad["status"] == "error" and "HTTP 422" in bad["error"]
    assert "webapp listening on" in runner.logs()


def test_bridge_on_an_engine_without_one(deployments: Deployments, docker_engine: Engine) -> None:
    client = docker_engine.client()
    try:
        has_bridge = any(n.name == "bridge" for n in client.networks.list())
    finally:
        client.close()
    if has_bridge:
        runner = deployments.deploy(ECHO, name="bridged", options={"network_mode": "bridge"})
        assert runner.run({"text": "b"})["output"]["text"] == "b"
        return
    with pytest.raises(DeployFailedError, match="no bridge network") as caught:
        deployments.deploy(ECHO, name="bridged", options={"network_mode": "bridge"})
    assert "network_mode=host" in (caught.value.hint or "")
