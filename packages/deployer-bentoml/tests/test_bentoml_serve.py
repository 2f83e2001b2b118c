"""target=local with a real `bentoml serve` on 127.0.0.1, called through bentoml's client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bentoml_support import BENTOML_MISSING, EXAMPLES, HAS_BENTOML
from deployer.deployment.factory import DeploymentFactory
from deployer.errors import DeployFailedError, PortInUseError
from deployer.plugin import descendants, is_alive
from deployer.testing import tree_hash, wait_until

pytestmark = [
    pytest.mark.real,
    pytest.mark.slow,
    pytest.mark.skipif(not HAS_BENTOML, reason=BENTOML_MISSING),
]

IRIS_INPUT = {"measurements": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}

ECHO = {
    "main.py": """
    import os
    import time

    def predict(text, times=1, sleep=0):
        time.sleep(sleep)
        if text == "boom":
            raise ValueError("boom is not a word")
        return {"text": text * times, "greeting": os.environ.get("BENTO_TEST_GREETING")}
    """
}

COUNTER = {
    "handler.py": """
    STATE = {"loads": 0, "calls": 0}

    def setup():
        STATE["loads"] += 1

    def handler(inputs: dict):
        STATE["calls"] += 1
        return {"got": inputs, **STATE}
    """
}

BROKEN_LOAD = {
    "predict.py": """
    def load():
        raise FileNotFoundError("weights.bin is missing from the workspace")

    def predict(x):
        return x
    """
}


def serve_pids(software) -> list[int]:
    """The `bentoml serve` process and its workers."""
    pid = software.runner.state["pid"]
    return [pid, *(child for child, _ in descendants(pid))]


def test_model_with_a_load_step_is_loaded_once(deployments):
    """scikit-learn comes from the test environment when it has it (deployer-bentoml[examples]),
    else the deployment's layered environment installs it from the example's requirements."""
    source = EXAMPLES / "bentoml_iris"
    before = tree_hash(source)
    software = deployments.deploy(source, name="iris")
    info = software.info
    assert info.provider == "bentoml" and info.status == "running"
    assert info.endpoint and info.endpoint.startswith("http://127.0.0.1:")
    first = software.run(IRIS_INPUT)
    assert first["status"] == "success", first
    assert first["output"]["species"] == ["setosa", "virginica"]
    second = software.run(IRIS_INPUT)
    assert second["output"]["calls_served_by_this_process"] == 2
    assert second["output"]["load_seconds"] == first["output"]["load_seconds"]  # loaded once
    assert "running the load step predict:load" in software.logs()
    assert tree_hash(source) == before  # the original is never written to


def test_two_deployments_at_once_and_telemetry_setting(deployments, monkeypatch):
    monkeypatch.setenv("BENTOML_DO_NOT_TRACK", "False")  # the user's own setting is kept
    echo = deployments.deploy(
        deployments.solution("echo", ECHO), name="echo", env={"BENTO_TEST_GREETING": "hi"}
    )
    counter = deployments.deploy(deployments.solution("counter", COUNTER), name="counter")
    assert echo.endpoint != counter.endpoint
    assert echo.run({"text": "ab", "times": 2}) == {
        "status": "success",
        "output": {"text": "abab", "greeting": "hi"},
    }
    assert counter.run({"a": 1})["output"] == {"got": {"a": 1}, "loads": 1, "calls": 1}
    assert counter.run({"a": 2})["output"]["calls"] == 2
    environ = Path(f"/proc/{echo.runner.state['pid']}/environ").read_bytes().split(b"\0")
    assert b"BENTOML_DO_NOT_TRACK=False" in environ


def test_service_failing_at_start_up_is_a_clear_error_with_its_log(deployments, registry):
    source = deployments.solution("broken", BROKEN_LOAD)
    with pytest.raises(DeployFailedError) as caught:
        deployments.deploy(source, name="broken", startup_timeout=90)
    message = caught.value.message
    assert "failed to start" in message
    assert "FileNotFoundError: weights.bin is missing from the workspace" in message
    assert "load step" in (caught.value.hint or "")
    assert "Initializing service error" not in message  # only the first, relevant block
    assert DeploymentFactory(registry).list() == []  # nothing recorded, nothing left running


def test_api_that_raises_gives_the_error_envelope_and_the_service_stays_up(deployments):
    software = deployments.deploy(deployments.solution("echo", ECHO), name="raiser", run_timeout=3)
    assert software.run({"text": "boom"}) == {
        "status": "error",
        "error": "ValueError: boom is not a word",
    }
    assert software.is_healthy()
    mismatch = software.run({"nope": 1})
    assert (
        mismatch["status"] == "error"
        and "nope: unknown field (expected fields: text, times, sleep)" in mismatch["error"]
    )
    assert software.run({"text": "ok"})["output"]["text"] == "ok"
    assert "ValueError: boom is not a word" in software.logs()  # the traceback is in the log
    slow = software.run({"text": "zz", "sleep": 6})
    assert slow["status"] == "error" and "did not answer within the run timeout" in slow["error"]
    assert software.run({"text": "after"})["output"]["text"] == "after"


def test_stop_start_and_remove(deployments):
    software = deployments.deploy(deployments.solution("echo", ECHO), name="cycle")
    pids = serve_pids(software)
    assert len(pids) >= 2  # the arbiter and its worker
    software.stop()
    assert wait_until(lambda: not any(is_alive(pid) for pid in pids))
    assert not software.is_healthy()
    stopped = software.run({"text": "x"})
    assert stopped["status"] == "error" and "deployer start cycle" in stopped["error"]
    software.stop()  # idempotent
    software.start()
    assert software.is_healthy()
    assert software.run({"text": "back"})["output"]["text"] == "back"
    new_pids = serve_pids(software)
    adapted = software.info.adapted_path
    software.remove()
    assert wait_until(lambda: not any(is_alive(pid) for pid in new_pids))
    assert adapted is not None and not adapted.exists()
    software.remove()  # idempotent


def test_fixed_port_in_use_fails_before_serving(deployments):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port} is already in use"):
            deployments.deploy(deployments.solution("echo", ECHO), name="busy", port=port)


def test_solution_that_is_a_bentoml_service_is_served_as_it_is(deployments):
    source = deployments.solution(
        "own",
        {
            "pyproject.toml": '[tool.deployer]\nentrypoint = "main:summarize"\n',
            "main.py": "def summarize(text):\n    return text[:5]\n",
            "service.py": """
            import bentoml

            from main import summarize as _summarize


            @bentoml.service
            class Summarizer:
                @bentoml.api
                def summarize(self, text: str) -> str:
                    return _summarize(text)
            """,
        },
    )
    software = deployments.deploy(source, name="own")
    assert software.info.runner_state["service"] == "service:Summarizer"
    assert software.run({"text": "abcdefgh"}) == {"status": "success", "output": "abcde"}
    missing = software.run({"txt": "a"})
    assert missing["status"] == "error" and "summarize" in missing["error"]


def test_cli_from_a_second_process(deployments, cli):
    """deploy, run, logs, stop, start and rm each in its own `python -m deployer` process."""
    source = deployments.solution("echo", ECHO)
    deployed = cli.json("deploy", str(source), "--strategy", "bentoml", "--name", "cli", "--json")
    assert deployed["provider"] == "bentoml" and deployed["runner_state"]["port"]
    result = cli("run", "cli", json.dumps({"text": "hey"}))
    assert result.code == 0, result.err
    assert result.json()["output"]["text"] == "hey"
    failed = cli("run", "cli", json.dumps({"text": "boom"}))
    assert failed.code == 1
    assert failed.json()["error"] == "ValueError: boom is not a word"
    assert "boom is not a word" in cli("logs", "cli", "--tail", "50").out
    assert cli("stop", "cli").code == 0
    assert [d["status"] for d in cli.json("ls", "--json")] == ["stopped"]
    assert cli("start", "cli").code == 0
    assert cli("run", "cli", '{"text": "again"}').json()["output"]["text"] == "again"
    pid = cli.json("ls", "--json")[0]["runner_state"]["pid"]
    assert cli("rm", "cli").code == 0
    assert wait_until(lambda: not is_alive(pid))
    assert cli.json("ls", "--json") == []
