"""Versions on the docker strategy, against the real engine: version k+1 is its own image tag
and container on its own port beside k, live once healthy, under a steady stream of calls
with none failing; a k+1 whose entry point fails keeps k serving (called during and after);
rollback starts k's stopped container again; --keep prunes old versions' containers and
images; `rm` leaves no container of any version. Then the CLI: `deployer dev --strategy
docker` redeploys on a save while `deployer logs -f` follows across the switch."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

import deployer
from deployer.deployment.factory import DeploymentFactory
from deployer.deployment.state import StateStore
from deployer.deployment.versions import rollback
from deployer.errors import DeployFailedError
from deployer.plugin import free_port
from deployer.testing import SteadyCalls
from docker_support import EXAMPLES, Cli, Engine, write_solution

pytestmark = [pytest.mark.real, pytest.mark.slow]


def solution(root: Path, reply: str, extra: str = "") -> Path:
    return write_solution(
        root, {"main.py": f"{extra}\ndef predict(name):\n    return {{'{reply}': name}}\n"}
    )


def steady_calls(name: str) -> SteadyCalls:
    """Calls the name with a fresh attach each time, as another process would."""
    return SteadyCalls(lambda: deployer.attach(name).run({"name": "x"}), pause=0.05)


def engine_objects(engine: Engine, name: str) -> tuple[list[Any], set[str]]:
    """The containers labelled with deployment `name`, and the tags of its repository."""
    client = engine.client()
    try:
        containers = client.containers.list(
            all=True, filters={"label": f"dev.deployer.deployment={name}"}
        )
        tags = {t for image in client.images.list() for t in image.tags}
        return containers, {t for t in tags if t.startswith(f"deployer/{name}:")}
    finally:
        client.close()


@pytest.fixture
def cleanup(docker_engine: Engine, remove_deployments: None) -> None:
    """Every deployment is removed after the test, while the engine is still up."""


def test_versions_redeploy_fail_rollback_prune(
    tmp_path: Path, docker_engine: Engine, cleanup: None
) -> None:
    docker_engine.tags.add("deployer/svc:v1")
    options = docker_engine.options()
    root = solution(tmp_path / "sol", "v1")
    first = deployer.deploy(root, "docker", name="svc", **options)
    one = dict(first.runner.state)
    assert one["image_tag"] == "deployer/svc:v1"

    # k+1 beside k, under a steady stream of calls: none fails
    solution(root, "v2")
    with steady_calls("svc") as during:
        time.sleep(0.5)
        second = deployer.deploy(root, "docker", name="svc", **options)
        time.sleep(0.5)
    assert len(during.results) > 10 and during.failed() == []
    outputs = during.outputs()
    assert {"v1": "x"} in outputs and outputs[-1] == {"v2": "x"}
    two = dict(second.runner.state)
    assert second.version == 2 and two["image_tag"] == "deployer/svc:v2"
    assert two["container_id"] != one["container_id"] and two["port"] != one["port"]
    containers, tags = engine_objects(docker_engine, "svc")
    by_id = {c.id: c for c in containers}
    assert by_id[one["container_id"]].status == "exited"  # k stopped, kept for rollback
    assert by_id[two["container_id"]].status == "running"
    assert by_id[two["container_id"]].labels["dev.deployer.version"] == "2"
    assert tags == {"deployer/svc:v1", "deployer/svc:v2"}

    # k+1 whose entry point fails at import: k keeps serving, during and after
    solution(root, "bad", extra="import time\ntime.sleep(3)\nraise RuntimeError('broken v3')")
    with steady_calls("svc") as meanwhile, pytest.raises(DeployFailedError) as failed:
        deployer.deploy(root, "docker", name="svc", startup_timeout=120, **options)
    assert "version 3 of 'svc' failed, so svc stays on version 2 (still serving)" in str(
        failed.value
    )
    assert "broken v3" in str(failed.value)
    assert len(meanwhile.results) > 3 and meanwhile.failed() == []
    assert {r["output"]["v2"] for r in meanwhile.results} == {"x"}
    assert deployer.attach("svc").run({"name": "after"})["output"] == {"v2": "after"}
    containers, _ = engine_objects(docker_engine, "svc")
    assert {c.id for c in containers} == {one["container_id"], two["container_id"]}

    # rollback: version 1's stopped container is started again, health first
    back = rollback(DeploymentFactory(), "svc")
    assert back.version == 1 and back.runner.state["container_id"] == one["container_id"]
    assert deployer.attach("svc").run({"name": "r"})["output"] == {"v1": "r"}
    events = [(e.version, e.kind) for e in StateStore().events("svc")]
    assert (3, "failed") in events and (1, "live") in events and (2, "stopped") in events

    # --keep 0: the old versions' containers and images go, the failed attempt's too
    solution(root, "v4")
    fourth = deployer.deploy(root, "docker", name="svc", keep=0, **options)
    assert fourth.run({"name": "k"})["output"] == {"v4": "k"}
    assert [r.version for r in StateStore().versions("svc")] == [4]
    containers, tags = engine_objects(docker_engine, "svc")
    assert [c.id for c in containers] == [fourth.runner.state["container_id"]]
    assert tags == {"deployer/svc:v4"}
    client = docker_engine.client()
    try:
        images = {image.id for image in client.images.list()}
    finally:
        client.close()
    assert one["image_id"] not in images and two["image_id"] not in images

    # rm of a name with a stopped older version: no container of any version is left
    solution(root, "v5")
    deployer.deploy(root, "docker", name="svc", **options)
    assert len(engine_objects(docker_engine, "svc")[0]) == 2
    DeploymentFactory().remove("svc")
    assert engine_objects(docker_engine, "svc")[0] == []


def test_dev_mode_and_logs_follow_across_a_redeploy(tmp_path: Path, docker_engine: Engine) -> None:
    """`deployer dev PATH --strategy docker`: a save makes version 2; `logs -f`, started on
    version 1, goes on with version 2's container; Ctrl-C removes every version."""
    docker_engine.tags.add("deployer/devsvc:v1")
    cli = Cli(tmp_path / "home", {"DOCKER_HOST": docker_engine.host, "PYTHONUNBUFFERED": "1"})
    root = solution(tmp_path / "sol", "d1")
    options = [f"--option=base_image={docker_engine.base_image}", "--option=wheelhouse=true"]
    dev = cli.popen(
        "dev", str(root), "--strategy", "docker", "--name", "devsvc", *options,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    follow: subprocess.Popen[str] | None = None
    try:
        assert dev.stdout is not None
        seen = read_until(dev.stdout, "watching")
        assert "version 1 of devsvc is live" in seen and "(healthy)" in seen, seen
        assert json.loads(cli("run", "devsvc", '{"name": "a"}').out)["output"] == {"d1": "a"}
        follow = cli.popen("logs", "devsvc", "-f", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(1.0)
        solution(root, "d2")
        seen = read_until(dev.stdout, "version 2 of devsvc is live")
        assert "(healthy)" in seen.splitlines()[-1], seen
        assert json.loads(cli("run", "devsvc", '{"name": "b"}').out)["output"] == {"d2": "b"}
        status = json.loads(cli("status", "devsvc", "--json").out)
        assert status["version"] == 2 and status["status"] == "running"
        kinds = [(e["version"], e["kind"]) for e in status["events"]]
        assert (2, "ready") in kinds or (2, "live") in kinds, kinds
        follow.send_signal(signal.SIGINT)
        followed, _ = follow.communicate(timeout=30)
        assert "[deployer] devsvc is now version 2" in followed, followed
        after = followed.split("is now version 2", 1)[1]
        assert "POST /run" in after  # version 2's container log, the call just made
    finally:
        if follow is not None and follow.poll() is None:
            follow.kill()
            follow.wait(10)
        dev.send_signal(signal.SIGINT)
        try:
            dev.wait(120)
        except subprocess.TimeoutExpired:
            dev.kill()
            dev.wait(10)
    assert dev.returncode in {0, 130}
    assert engine_objects(docker_engine, "devsvc")[0] == []
    assert json.loads(cli("ls", "--json").out) == []


def read_until(stream: Any, marker: str, timeout: float = 600) -> str:
    """Lines of a child's output up to (and including) the first one containing `marker`."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{marker!r} never came; output:\n{''.join(seen)}")


def test_a_fixed_host_port_is_refused_for_the_next_version_in_one_line(
    docker_engine: Engine, cleanup: None
) -> None:
    """The solution's own Dockerfile with a fixed container_port on the host network: version 2
    would listen on the host port version 1 holds. The redeploy says so, with the way out,
    before it creates a container, and version 1 keeps serving."""
    port = free_port()
    docker_engine.tags.update({"deployer/fixed:v1", "deployer/fixed:v2"})
    options = docker_engine.options(
        network_mode="host", container_port=port, predict_path="/predict", health_path="/healthz"
    )
    first = deployer.deploy(EXAMPLES / "docker_webapp", "docker", name="fixed", **options)
    assert first.runner.state["port"] == port
    with pytest.raises(DeployFailedError) as refused:
        deployer.deploy(EXAMPLES / "docker_webapp", "docker", name="fixed", **options)
    message = str(refused.value)
    assert f"port {port} (--option container_port) is already in use" in message, message
    assert "version 1 of fixed may still be listening there" in message
    assert "network_mode=bridge" in (refused.value.hint or "")
    live = deployer.attach("fixed")
    assert live.version == 1
    assert live.run({"text": "still one"})["output"]["words"] == 2
    containers, _ = engine_objects(docker_engine, "fixed")
    assert [c.id for c in containers] == [first.runner.state["container_id"]]
