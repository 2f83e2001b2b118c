"""The `deployer` command against a real engine: every call its own process, so each one
reattaches to the container through the state store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from docker_support import EXAMPLES, Cli, Engine

pytestmark = [pytest.mark.real, pytest.mark.slow]


@pytest.fixture
def cli(tmp_path: Path, docker_engine: Engine) -> Iterator[Cli]:
    runner = Cli(tmp_path / "home", {"DOCKER_HOST": docker_engine.host})
    yield runner
    listing = runner("ls", "--json")  # never leave a container behind
    if listing.code == 0:
        for row in json.loads(listing.out):
            runner("rm", row["name"], "--force")


def test_cli_lifecycle_across_processes(cli: Cli, docker_engine: Engine) -> None:
    docker_engine.tags.add("deployer/cli-hello:latest")
    options = [
        f"--option=base_image={docker_engine.base_image}",
        "--option=wheelhouse=true",
        "--option=remove_image=true",
    ]
    deployed = cli(
        "deploy", str(EXAMPLES / "hello"), "--strategy", "docker", "--name", "cli-hello",
        "--env", "DEPLOYER_TEST_TOKEN=s3cr3t-value", "--json", *options,
    )  # fmt: skip
    assert deployed.code == 0, deployed.err
    info = json.loads(deployed.out)
    assert info["strategy"] == "docker" and info["status"] == "running"
    assert info["runner_state"]["container_id"] and info["endpoint"]

    listing = cli("strategies", "--json")
    row = next(r for r in json.loads(listing.out) if r["name"] == "docker")
    assert row["available"] is True

    ran = cli("run", "cli-hello", '{"name": "Grace"}')
    assert ran.code == 0, ran.err
    assert json.loads(ran.out) == {
        "status": "success",
        "output": {"message": "Hello, Grace!", "length": 5},
    }
    logs = cli("logs", "cli-hello", "--tail", "5")
    assert logs.code == 0 and "POST /run" in logs.out

    rows = json.loads(cli("ls", "--json").out)
    assert [r["name"] for r in rows] == ["cli-hello"]
    assert "s3cr3t-value" not in cli("ls", "--json").out

    assert cli("stop", "cli-hello").code == 0
    stopped = json.loads(cli("run", "cli-hello", '{"name": "x"}').out)
    assert stopped["status"] == "error" and "deployer start cli-hello" in stopped["error"]

    started = cli("start", "cli-hello")
    assert started.code == 0, started.err
    again = json.loads(cli("run", "cli-hello", '{"name": "Alan"}').out)
    assert again["output"]["message"] == "Hello, Alan!"

    image_id = info["runner_state"]["image_id"]
    removed = cli("rm", "cli-hello")
    assert removed.code == 0, removed.err
    assert json.loads(cli("ls", "--json").out) == []
    client = docker_engine.client()
    try:
        assert not client.containers.list(
            all=True, filters={"label": "dev.deployer.deployment=cli-hello"}
        )
        assert not [image for image in client.images.list() if image.id == image_id]
    finally:
        client.close()


def test_cli_reports_a_failed_deploy_in_one_error(cli: Cli, docker_engine: Engine) -> None:
    """examples/docker_webapp without predict_path: exit 5, one error with the fix, no record."""
    result = cli(
        "deploy", str(EXAMPLES / "docker_webapp"), "--strategy", "docker",
        f"--option=base_image={docker_engine.base_image}",
    )  # fmt: skip
    assert result.code == 5
    assert "Traceback" not in result.err
    assert "own Dockerfile" in result.err and "predict_path" in result.err
    assert json.loads(cli("ls", "--json").out) == []
