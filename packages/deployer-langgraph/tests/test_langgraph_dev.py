"""The dev target with real `langgraph dev` servers: a graph example and a plain-function
example deployed through the strategy and called through DeployedSoftware and through
langgraph_sdk directly; threads, a node that raises, timeouts, streaming, stop/start/rm, and
servers that fail to start."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer.deployment.software import DeployedSoftware
from deployer.errors import DeployFailedError, PortInUseError
from deployer.plugin import is_alive, terminate
from deployer.testing import tree_hash
from deployer_langgraph.sdk import thread_uuid
from deployer_langgraph.targets.dev import LangGraphDevRunner
from langgraph_support import (
    AGENT_EXAMPLE,
    FUNCTION_EXAMPLE,
    Deployments,
    require_dev,
    write_solution,
)

pytestmark = [pytest.mark.real, pytest.mark.slow]

TOOLBOX = {
    "main.py": """
    import os
    import time

    def predict(seconds: float = 0, fail: str = "", env: str = ""):
        if fail:
            raise RuntimeError(fail)
        time.sleep(seconds)
        return {"slept": seconds, "env": os.environ.get(env) if env else None}
    """
}


@pytest.fixture(scope="module")
def agent(module_deployments: Deployments) -> DeployedSoftware:
    require_dev()
    return module_deployments.deploy(AGENT_EXAMPLE, name="agent")


@pytest.fixture(scope="module")
def hello(module_deployments: Deployments) -> DeployedSoftware:
    require_dev()
    return module_deployments.deploy(FUNCTION_EXAMPLE, name="hello")


@pytest.fixture(scope="module")
def toolbox(
    module_deployments: Deployments, tmp_path_factory: pytest.TempPathFactory
) -> DeployedSoftware:
    require_dev()
    source = write_solution(tmp_path_factory.mktemp("toolbox"), TOOLBOX)
    return module_deployments.deploy(
        source, name="toolbox", run_timeout=3.0, env={"DEPLOYER_LG_SECRET": "s3cret"}
    )


@pytest.fixture
def sdk(agent: DeployedSoftware) -> Iterator[object]:
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=agent.endpoint, api_key=None)
    yield client
    client.http.client.close()


def test_graph_example_through_deployed_software(agent: DeployedSoftware) -> None:
    info = agent.info
    assert info.strategy == "langgraph" and info.provider == "langgraph-dev"
    assert info.endpoint and info.endpoint.startswith("http://127.0.0.1:")
    assert "stream" in info.capabilities
    state = info.runner_state
    assert state["kind"] == "graph" and state["graph_id"] == "agent"
    json.dumps(state)
    assert agent.is_healthy() and agent.status() == "running"
    result = agent.run({"question": "what is 6 * 7?"})
    assert result["status"] == "success", result
    assert result["output"]["answer"] == "42"
    assert result["output"]["tool"] == "calculator"
    assert agent.run('{"question": "reverse: abc"}')["output"]["answer"] == "cba"
    assert "Application started up" in agent.logs()
    assert len(agent.logs(tail=3).splitlines()) == 3


def test_server_runs_in_the_adapted_copy_never_the_original(agent: DeployedSoftware) -> None:
    before = tree_hash(AGENT_EXAMPLE)
    agent.run({"question": "hi"})
    assert tree_hash(AGENT_EXAMPLE) == before
    assert not (AGENT_EXAMPLE / ".langgraph_api").exists()
    adapted = agent.info.adapted_path
    assert adapted is not None and (adapted / ".langgraph_api").is_dir()


def test_threads_keep_state_across_calls(agent: DeployedSoftware) -> None:
    first = agent.run({"question": "what is 1+1", "thread": "alice"})
    second = agent.run({"question": "reverse: ab", "thread": "alice"})
    other = agent.run({"question": "hi", "thread": "bob"})
    stateless = agent.run({"question": "hi"})
    assert first["output"]["turns"] == 1
    assert second["output"]["turns"] == 2
    assert second["output"]["history"] == ["calculator: 2", "reverse: ba"]
    assert other["output"]["turns"] == 1
    assert stateless["output"]["turns"] == 1


def test_thread_id_option_continues_one_thread(agent: DeployedSoftware) -> None:
    """A runner reattached with the option (as another process would) uses that thread."""
    context = agent.runner.context.model_copy(
        update={"options": {**agent.runner.context.options, "thread_id": "conversation-7"}}
    )
    runner = LangGraphDevRunner(context, agent.info.runner_state)
    try:
        assert runner.run({"question": "hi"})["output"]["turns"] == 1
        assert runner.run({"question": "hi again"})["output"]["turns"] == 2
        # a call's own thread key wins; an empty one makes the call stateless
        assert runner.run({"question": "x", "thread": "elsewhere"})["output"]["turns"] == 1
        assert runner.run({"question": "x", "thread": ""})["output"]["turns"] == 1
        assert runner.run({"question": "x", "thread": 5})["status"] == "error"
    finally:
        runner.close()


def test_node_that_raises_gives_the_servers_message(agent: DeployedSoftware) -> None:
    result = agent.run({"question": "   "})
    assert result == {
        "status": "error",
        "error": "ValueError: the question is empty: send {'question': '...'}",
    }
    assert agent.is_healthy()
    assert agent.run({"question": "2*3"})["output"]["answer"] == "6"
    assert agent.run(["not", "a", "dict"])["status"] == "error"  # type: ignore[arg-type]


def test_stream_yields_each_nodes_update(agent: DeployedSoftware) -> None:
    parts = list(agent.stream({"question": "what is 2+2"}))
    assert [part["status"] for part in parts] == ["item", "item", "item", "success"]
    items = [part["output"] for part in parts[:-1]]
    assert [next(iter(item)) for item in items] == ["route", "calculator", "respond"]
    assert items[1]["calculator"] == {"answer": "4"}
    failing = list(agent.stream({"question": ""}))
    assert failing[-1]["status"] == "error" and "question is empty" in failing[-1]["error"]


def test_langgraph_sdk_sees_a_normal_server(agent: DeployedSoftware, sdk) -> None:
    """Any LangGraph client can use the deployment: stateless runs, threads, assistants."""
    assert sdk.runs.wait(None, "agent", input={"question": "3*3"})["answer"] == "9"
    thread = sdk.threads.create()
    for _ in range(2):
        out = sdk.runs.wait(thread["thread_id"], "agent", input={"question": "hi"})
    assert out["turns"] == 2
    # the thread deployer made for {"thread": "alice"} is there under its UUID
    agent.run({"question": "hi", "thread": "sdk-visible"})
    state = sdk.threads.get_state(thread_uuid("sdk-visible"))
    assert state["values"]["turns"] == 1
    assistants = sdk.assistants.search(graph_id="agent")
    assert assistants[0]["name"] == "langgraph_agent"


def test_plain_function_example(hello: DeployedSoftware) -> None:
    assert hello.info.runner_state["kind"] == "function"
    assert hello.run({"name": "Ada"}) == {
        "status": "success",
        "output": {"message": "Hello, Ada!", "length": 3},
    }
    wrong = hello.run({"nom": "Ada"})
    assert wrong["status"] == "error"
    assert "expected parameters: name, greeting; input keys given: nom" in wrong["error"]
    assert list(hello.stream({"name": "Bo", "greeting": "Hi"})) == [
        {"status": "item", "output": {"message": "Hi, Bo!", "length": 2}},
        {"status": "success"},
    ]


def test_plain_function_through_langgraph_sdk(hello: DeployedSoftware) -> None:
    """The wrapper is a normal graph too: its state carries `input` and `output`."""
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=hello.endpoint, api_key=None)
    try:
        out = client.runs.wait(None, "agent", input={"input": {"name": "Ada"}})
        assert out == {"input": {"name": "Ada"}, "output": {"message": "Hello, Ada!", "length": 3}}
        assert client.assistants.search(graph_id="agent")[0]["name"] == "deployer_function"
    finally:
        client.http.client.close()


def test_timeout_and_errors_come_back_as_envelopes(toolbox: DeployedSoftware) -> None:
    assert toolbox.run({"env": "DEPLOYER_LG_SECRET"})["output"]["env"] == "s3cret"
    slow = toolbox.run({"seconds": 30})
    assert slow["status"] == "error"
    assert "did not finish within 3s (the run timeout)" in slow["error"]
    assert "cancelled on the server" in slow["error"]
    assert toolbox.run({"fail": "broken tool"}) == {
        "status": "error",
        "error": "RuntimeError: broken tool",
    }
    assert toolbox.run({"seconds": 0})["status"] == "success"
    assert "s3cret" not in json.dumps(toolbox.info.model_dump(mode="json"))


@pytest.mark.usefixtures("agent")
def test_stop_start_remove(deployments: Deployments) -> None:
    software = deployments.deploy(AGENT_EXAMPLE, name="lifecycle")
    first_pid = software.info.runner_state["pid"]
    assert software.run({"question": "1+1", "thread": "kept"})["output"]["turns"] == 1
    software.stop()
    assert not is_alive(first_pid)
    assert not software.is_healthy() and software.status() == "stopped"
    stopped = software.run({"question": "hi"})
    assert stopped["status"] == "error" and "deployer start lifecycle" in stopped["error"]
    assert [part["status"] for part in software.stream({"question": "hi"})] == ["error"]
    software.stop()  # idempotent
    software.start()
    assert software.is_healthy()
    # the dev server keeps its threads in .langgraph_api/ of the adapted copy
    assert software.run({"question": "2+2", "thread": "kept"})["output"]["turns"] == 2
    pid, adapted = software.info.runner_state["pid"], software.info.adapted_path
    software.start()  # already running: nothing to do
    assert software.info.runner_state["pid"] == pid
    software.remove()
    assert not is_alive(pid)
    assert adapted is not None and not adapted.exists()
    software.remove()  # idempotent


def test_start_after_the_server_died(deployments: Deployments) -> None:
    require_dev()
    software = deployments.deploy(FUNCTION_EXAMPLE, name="crashy")
    pid = software.info.runner_state["pid"]
    terminate(pid, pid, None, grace=2.0)
    assert not software.is_healthy() and software.status() == "failed"
    assert "has exited" in software.run({"name": "x"})["error"]
    software.start()
    assert software.run({"name": "x"})["status"] == "success"


def test_bad_graph_path_fails_with_its_log_lines(
    deployments: Deployments, tmp_path: Path, deployer_home: Path
) -> None:
    require_dev()
    source = write_solution(
        tmp_path / "badpath",
        {
            "main.py": "def predict(x):\n    return x\n",
            "langgraph.json": '{"dependencies": ["."], "graphs": {"agent": "./nope.py:graph"}}',
        },
    )
    with pytest.raises(DeployFailedError) as caught:
        deployments.deploy(source, name="badpath")
    message = caught.value.message
    assert "exited with code" in message and "before becoming ready" in message
    assert "Failed to load graph 'agent' from ./nope.py" in message
    assert "last log lines:" in message
    assert "server.log" in (caught.value.hint or "")
    assert not (deployer_home / "deployments" / "badpath").exists()  # undone by the factory


def test_entry_point_that_fails_to_import(deployments: Deployments, tmp_path: Path) -> None:
    require_dev()
    source = write_solution(
        tmp_path / "broken",
        {"main.py": "raise RuntimeError('cannot load the model')\ndef predict(x):\n    return x\n"},
    )
    with pytest.raises(DeployFailedError, match="cannot load the model"):
        deployments.deploy(source, name="broken")


def test_fixed_port_in_use_is_refused_before_starting(deployments: Deployments) -> None:
    require_dev()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port} is already in use"):
            deployments.deploy(FUNCTION_EXAMPLE, name="taken", options={"port": port})
