"""The `deployer` command with the langgraph strategy, every call its own process, as a user
would: deploy, run (threads too), logs, stop/start, rm; and the deployment, made by one
process, called by langgraph_sdk from another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer.plugin import is_alive
from deployer.testing import DeployerCli
from deployer_langgraph import availability
from langgraph_support import AGENT_EXAMPLE, FUNCTION_EXAMPLE, require_dev

pytestmark = [pytest.mark.real, pytest.mark.slow]


# no langgraph platform URL or API key of this machine's user reaches the children
UNSET = ("DEPLOYER_STRATEGIES", availability.URL_ENV, *availability.API_KEY_ENVS)


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[DeployerCli]:
    runner = DeployerCli(tmp_path / "home", unset=UNSET)
    yield runner
    listing = runner("ls", "--json")  # never leave a server behind, whatever the test did
    if listing.code == 0:
        for row in listing.json():
            runner("rm", row["name"], "--force")


def test_cli_round_trip_and_sdk_from_another_process(cli: DeployerCli) -> None:
    require_dev()
    deployed = cli(
        "deploy", str(AGENT_EXAMPLE), "--strategy", "langgraph", "--name", "lg", "--json"
    )
    assert deployed.code == 0, deployed.err
    info = deployed.json()
    assert info["provider"] == "langgraph-dev" and info["status"] == "running"
    endpoint = info["endpoint"]

    answer = cli("run", "lg", '{"question": "what is 6 * 7?"}')
    assert answer.code == 0, answer.err
    assert answer.json()["output"]["answer"] == "42"
    for turn in (1, 2):
        threaded = cli("run", "lg", '{"question": "hi", "thread": "cli-thread"}')
        assert threaded.json()["output"]["turns"] == turn
    failed = cli("run", "lg", '{"question": ""}')
    assert failed.code == 1 and "ValueError: the question is empty" in failed.json()["error"]

    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=endpoint, api_key=None)
    try:
        assert client.runs.wait(None, "agent", input={"question": "2*4"})["answer"] == "8"
    finally:
        client.http.client.close()

    logs = cli("logs", "lg", "--tail", "400")  # the server's output, the node's traceback too
    assert logs.code == 0 and "ValueError: the question is empty" in logs.out
    assert "Application started up" in cli("logs", "lg").out
    assert cli("ls", "--json").json()[0]["status"] == "running"

    assert cli("stop", "lg").code == 0
    assert not is_alive(info["runner_state"]["pid"])
    assert cli("ls", "--json").json()[0]["status"] == "stopped"
    refused = cli("run", "lg", '{"question": "hi"}')
    assert refused.code == 1 and "deployer start lg" in refused.json()["error"]
    assert cli("start", "lg").code == 0
    again = cli("run", "lg", '{"question": "hi", "thread": "cli-thread"}')
    assert again.json()["output"]["turns"] == 3  # the thread survived the restart

    pid = cli("ls", "--json").json()[0]["runner_state"]["pid"]
    assert cli("rm", "lg").code == 0
    assert not is_alive(pid)
    assert cli("ls", "--json").json() == []


def test_cli_plain_function_example(cli: DeployerCli) -> None:
    require_dev()
    deployed = cli("deploy", str(FUNCTION_EXAMPLE), "--strategy", "langgraph", "--json")
    assert deployed.code == 0, deployed.err
    info = deployed.json()
    name = info["name"]
    assert info["runner_state"]["kind"] == "function"
    result = cli("run", name, stdin='{"name": "Ada"}')
    assert result.json() == {"status": "success", "output": {"message": "Hello, Ada!", "length": 3}}
    wrong = cli("run", name, '{"nom": "Ada"}')
    assert (
        wrong.code == 1
        and "unknown field (expected fields: name, greeting)" in wrong.json()["error"]
    )

    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=info["endpoint"], api_key=None)
    try:
        out = client.runs.wait(None, "agent", input={"input": {"name": "Bo"}})
        assert out["output"] == {"message": "Hello, Bo!", "length": 2}
    finally:
        client.http.client.close()
    assert cli("rm", name).code == 0


def test_cli_cloud_target_without_key_is_unavailable(cli: DeployerCli) -> None:
    result = cli(
        "deploy",
        str(AGENT_EXAMPLE),
        "--strategy",
        "langgraph",
        "--option",
        "target=cloud",
        "--option",
        "url=https://my-agent.example.langgraph.app",
    )
    assert result.code == 3
    assert "LANGSMITH_API_KEY is not set" in result.err
    assert "hint:" in result.err


def test_cli_selects_langgraph_for_the_agent_example(cli: DeployerCli) -> None:
    chosen = cli("select", str(AGENT_EXAMPLE), "--json")
    assert chosen.code == 0, chosen.err
    assert chosen.json()["strategy"] == "langgraph"
