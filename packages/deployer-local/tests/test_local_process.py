"""mode=process: the workspace served by core's serving runtime in its own process and venv."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from deployer.errors import DeployFailedError, PortInUseError
from deployer.runtime import processes
from deployer.runtime.serving_install import install_serving_runtime
from deployer.testing import wait_until
from deployer_local.targets import process

ECHO = {
    "main.py": """
    import os

    def predict(text, times=1):
        return {"text": text * times, "greeting": os.environ.get("DEPLOYER_TEST_GREETING")}
    """
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def listener() -> socket.socket:
    """A port someone else is listening on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    yield sock
    sock.close()


def test_round_trip_over_http(deployments) -> None:
    runner = deployments.deploy(ECHO, env={"DEPLOYER_TEST_GREETING": "hi"})
    state = runner.state
    assert state["mode"] == "process"
    assert set(state) == {"mode", "pid", "pgid", "port", "pid_start_time", "venv"}
    assert state["pid"] == state["pgid"] and state["pid"] != os.getpid()
    assert state["pid_start_time"] == processes.pid_start_time(state["pid"])
    json.dumps(state)
    assert runner.endpoint == f"http://127.0.0.1:{state['port']}"
    assert runner.is_healthy()
    assert runner.status() == "running"

    assert runner.run({"text": "ab", "times": 2}) == {
        "status": "success",
        "output": {"text": "abab", "greeting": "hi"},
    }
    token = runner.token_file.read_text().strip()
    health = httpx.get(
        f"{runner.endpoint}/readyz", headers={"Authorization": f"Bearer {token}"}, trust_env=False
    ).json()
    assert health["status"] == "ready"
    assert health["entrypoint"] == "main:predict"
    assert token not in json.dumps(state)


def test_the_server_refuses_callers_without_the_token(deployments) -> None:
    runner = deployments.deploy(ECHO)
    assert oct(runner.token_file.stat().st_mode & 0o777) == "0o600"
    answer = httpx.post(f"{runner.endpoint}/run", json={"text": "a"}, trust_env=False)
    assert answer.status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    answer = httpx.post(
        f"{runner.endpoint}/run", json={"text": "a"}, headers=wrong, trust_env=False
    )
    assert answer.status_code == 401
    assert runner.run({"text": "a"})["status"] == "success"


def test_a_reattached_runner_reads_the_token(deployments) -> None:
    first = deployments.deploy(ECHO)
    other = deployments.runner(first.context, json.loads(json.dumps(first.state)))
    answer = other.run({"text": "x"})
    assert answer["status"] == "success" and answer["output"]["text"] == "x"


def test_connection_is_reused(deployments) -> None:
    runner = deployments.deploy(ECHO)
    for _ in range(5):
        assert runner.run({"text": "x"})["status"] == "success"
    # the access log is buffered (flushed a few times a second), not written per request
    assert wait_until(lambda: runner.logs().count('"POST /run') == 5, limit=10)
    log = runner.logs()
    requests = [line for line in log.splitlines() if '"POST /run' in line]
    assert len(requests) == 5
    peers = {line.split("] ", 1)[1].split()[0] for line in requests}
    assert len(peers) == 1, log  # one client address:port, so one keep-alive connection
    assert peers.pop().startswith("127.0.0.1:")


def test_entry_point_that_raises_keeps_the_server_up(deployments) -> None:
    runner = deployments.deploy(
        {
            "main.py": """
            def predict(x):
                if x == 0:
                    raise ZeroDivisionError("x must not be zero")
                return 1 / x
            """
        }
    )
    assert runner.run({"x": 0}) == {
        "status": "error",
        "error": "ZeroDivisionError: x must not be zero",
    }
    assert runner.is_healthy()
    assert runner.run({"x": 4}) == {"status": "success", "output": 0.25}
    log = runner.logs()
    assert "Traceback" in log and "x must not be zero" in log


def test_invalid_bodies_get_400_envelopes(deployments) -> None:
    runner = deployments.deploy(ECHO)
    with httpx.Client(
        base_url=runner.endpoint, headers=runner.client.headers, trust_env=False
    ) as client:
        listed = client.post("/run", content=b"[1, 2]")
        assert listed.status_code == 400
        assert listed.json() == {
            "status": "error",
            "error": "inputs must be a JSON object, got an array",
        }
        broken = client.post("/run", content=b"{not json")
        assert broken.status_code == 400
        assert broken.json()["status"] == "error"
        assert "not valid JSON" in broken.json()["error"]
        unsupported = client.put("/run", json={})
        assert unsupported.status_code == 501
        assert unsupported.json()["status"] == "error"
        missing = client.get("/nowhere")
        assert missing.status_code == 404
        assert missing.json()["status"] == "error"
        ok = client.post("/run", json={"text": "still up"})  # same connection, still in sync
        assert ok.json()["output"]["text"] == "still up"
    assert runner.run({"text": "y"})["status"] == "success"


def test_mismatched_keys_name_the_expected_parameters(deployments) -> None:
    runner = deployments.deploy(ECHO)
    result = runner.run({"txt": "a"})
    assert result["status"] == "error"
    assert "expected fields: text, times" in result["error"]
    assert "txt" in result["error"]


def test_async_entry_point(deployments) -> None:
    runner = deployments.deploy(
        {
            "main.py": """
            import asyncio

            async def predict(inputs):
                await asyncio.sleep(0)
                return sorted(inputs)
            """
        }
    )
    assert runner.run({"b": 1, "a": 2}) == {"status": "success", "output": ["a", "b"]}


def test_non_serialisable_output(deployments) -> None:
    runner = deployments.deploy({"main.py": "def predict():\n    return object()\n"})
    result = runner.run({})
    assert result["status"] == "error"
    assert "not JSON-serialisable" in result["error"]
    assert runner.is_healthy()


def test_logs_hold_request_lines_but_not_bodies(deployments) -> None:
    runner = deployments.deploy(ECHO)
    runner.run({"text": "secret-value-123"})
    assert wait_until(lambda: '"POST /run HTTP/1.1" 200 success' in runner.logs(), limit=10)
    log = runner.logs()
    assert '"POST /run HTTP/1.1" 200 success' in log
    assert "secret-value-123" not in log
    assert runner.logs(tail=1).count("\n") == 1
    assert runner.logs(tail=1).strip() == log.strip().splitlines()[-1]


def test_reattached_runner_can_run_and_stop(deployments) -> None:
    context = deployments.context(ECHO)
    first = deployments.runner(context)
    first.deploy()
    saved = json.loads(json.dumps(first.state))  # what the state store keeps

    other = deployments.runner(context, saved)
    assert other.is_healthy()
    assert other.endpoint == first.endpoint
    assert other.run({"text": "z"})["output"]["text"] == "z"
    other.stop()
    assert other.state["pid"] is None and other.endpoint is None
    assert wait_until(lambda: not first.is_healthy())
    result = first.run({"text": "z"})
    assert result["status"] == "error"
    assert "is not running" in result["error"]
    other.stop()  # idempotent
    first.stop()  # stale state, process gone: a no-op


def test_stop_is_idempotent_and_leaves_nothing(deployments) -> None:
    runner = deployments.deploy(ECHO)
    pid, start = runner.state["pid"], runner.state["pid_start_time"]
    runner.stop()
    assert not processes.is_alive(pid, start)
    assert runner.status() == "stopped"
    runner.stop()
    assert runner.run({"text": "a"}) == {
        "status": "error",
        "error": "deployment sol is not running (it is stopped); "
        "start it with `deployer start sol`",
    }
    assert "stopped" in runner.logs(tail=3)  # the server shut down on SIGTERM, cleanly


def test_killed_server_is_reported_and_start_recovers(deployments) -> None:
    runner = deployments.deploy(ECHO)
    old_pid = runner.state["pid"]
    os.kill(old_pid, signal.SIGKILL)
    assert wait_until(lambda: not runner.is_healthy())
    assert runner.status() == "failed"
    result = runner.run({"text": "a"})
    assert result["status"] == "error"
    assert "deployment sol is not running" in result["error"]
    assert "deployer start sol" in result["error"]

    runner.start()
    assert runner.state["pid"] != old_pid
    assert runner.is_healthy()
    assert runner.run({"text": "back"})["output"]["text"] == "back"


def test_a_killed_server_whose_port_someone_else_took_is_reported_as_exited(
    deployments,
) -> None:
    """Liveness is read only when a call fails: an answer from whatever holds the port now
    is not passed off as the deployment's."""
    import http.server
    import threading

    runner = deployments.deploy(ECHO)
    port = runner.port
    os.kill(runner.state["pid"], signal.SIGKILL)
    assert wait_until(lambda: not processes.is_alive(runner.state["pid"]))
    # The killed process shows as a zombie before its last thread has closed its sockets.
    assert wait_until(lambda: not processes.port_taken(port))

    class Squatter(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "error", "error": "wrong token"}')

        def log_message(self, *args: object) -> None:
            pass

    squatter = http.server.HTTPServer(("127.0.0.1", port), Squatter)
    threading.Thread(target=squatter.serve_forever, daemon=True).start()
    try:
        result = runner.run({"text": "a"})
    finally:
        squatter.shutdown()
        squatter.server_close()
    assert result["status"] == "error"
    assert "is not running" in result["error"] and "has exited" in result["error"]


def test_killed_server_seen_from_another_runner(deployments) -> None:
    context = deployments.context(ECHO)
    first = deployments.runner(context)
    first.deploy()
    os.kill(first.state["pid"], signal.SIGKILL)
    other = deployments.runner(context, json.loads(json.dumps(first.state)))
    assert wait_until(lambda: not other.is_healthy())
    assert "is not running" in other.run({"text": "a"})["error"]
    other.start()
    assert other.run({"text": "again"})["output"]["text"] == "again"


def test_start_on_a_running_deployment_keeps_it(deployments) -> None:
    runner = deployments.deploy(ECHO)
    pid = runner.state["pid"]
    runner.start()
    assert runner.state["pid"] == pid


def test_stop_ends_the_solutions_children(deployments, tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    runner = deployments.deploy(
        {
            "main.py": f"""
            import subprocess, sys
            CHILD = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
            open({str(marker)!r}, "w").write(str(CHILD.pid))

            def predict():
                return CHILD.pid
            """
        }
    )
    child = int(marker.read_text())
    start = processes.pid_start_time(child)
    assert processes.is_alive(child, start)
    runner.stop()
    assert wait_until(lambda: not processes.is_alive(child, start))


def test_fixed_port(deployments) -> None:
    port = free_port()
    runner = deployments.deploy(ECHO, options={"port": port})
    assert runner.endpoint == f"http://127.0.0.1:{port}"
    runner.stop()
    runner.start()  # the same fixed port again, right after the old server let go of it
    assert runner.endpoint == f"http://127.0.0.1:{port}"
    assert runner.run({"text": "p"})["status"] == "success"


def test_port_in_use_is_refused_before_starting(deployments, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    context = deployments.context(ECHO, options={"port": port})
    runner = deployments.runner(context)
    with pytest.raises(PortInUseError) as caught:
        runner.deploy()
    assert str(caught.value).startswith(f"port {port} is already in use")
    assert "--option port=" in str(caught.value)
    assert not runner.state.get("pid")


def test_server_exits_98_when_its_port_is_taken(deployments, listener: socket.socket) -> None:
    """The server's own check, for a port taken between the pre-check and the bind."""
    context = deployments.context(ECHO)
    install_serving_runtime(context.adapted_path)
    port = listener.getsockname()[1]
    done = subprocess.run(
        [sys.executable, "-m", "deployer_runtime", "serve", "--port", str(port)],
        cwd=context.adapted_path,
        env={**os.environ, "DEPLOYER_RUNTIME_TOKEN": "t"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == process.EXIT_PORT_IN_USE
    assert f"port {port} is already in use" in done.stderr


def test_exit_98_becomes_port_in_use_error(tmp_path: Path, listener: socket.socket) -> None:
    """The port was free at the pre-check but taken when the server bound it (a race)."""
    port = listener.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(98)"])
    with pytest.raises(PortInUseError, match=f"port {port} is already in use"):
        process.wait_ready(
            server,
            name="sol",
            port_file=tmp_path / "port",
            requested_port=port,
            log_path=tmp_path / "server.log",
            log_offset=0,
            timeout=30,
        )


def test_import_failure_reports_the_log_lines(deployments) -> None:
    context = deployments.context(
        {"main.py": "raise RuntimeError('weights file is corrupt')\n\ndef predict():\n    pass\n"}
    )
    runner = deployments.runner(context)
    with pytest.raises(DeployFailedError) as caught:
        runner.deploy()
    message = str(caught.value)
    assert "could not import the entry point" in message
    assert "RuntimeError: weights file is corrupt" in message
    assert "Traceback" in message
    assert "server.log" in message
    assert not runner.state.get("pid")
    assert runner.endpoint is None


def test_startup_timeout_stops_the_server(deployments, tmp_path: Path) -> None:
    marker = tmp_path / "slow.pid"
    context = deployments.context(
        {
            "main.py": f"""
            import os, time
            open({str(marker)!r}, "w").write(str(os.getpid()))
            time.sleep(600)

            def predict():
                pass
            """
        },
        startup_timeout=1.0,
    )
    runner = deployments.runner(context)
    with pytest.raises(DeployFailedError, match="did not become healthy within 1s"):
        runner.deploy()
    pid = int(marker.read_text())
    assert not processes.is_alive(pid)


def test_two_deployments_at_once(deployments) -> None:
    one = deployments.deploy({"main.py": "def predict():\n    return 'one'\n"}, name="one")
    two = deployments.deploy({"main.py": "def predict():\n    return 'two'\n"}, name="two")
    assert one.state["port"] != two.state["port"]
    assert one.state["pid"] != two.state["pid"]
    assert one.run({})["output"] == "one"
    assert two.run({})["output"] == "two"
    one.stop()
    assert two.run({})["output"] == "two"


def test_run_timeout(deployments) -> None:
    runner = deployments.deploy(
        {"main.py": "import time\n\ndef predict(seconds):\n    time.sleep(seconds)\n"},
        run_timeout=0.5,
    )
    result = runner.run({"seconds": 30})
    assert result["status"] == "error"
    assert "did not finish within 0.5s (the run timeout)" in result["error"]
    assert runner.is_healthy()


def test_server_dying_mid_call(deployments) -> None:
    runner = deployments.deploy({"main.py": "import os\n\ndef predict():\n    os._exit(7)\n"})
    result = runner.run({})
    assert result["status"] == "error"
    assert "is not running" in result["error"]
    assert wait_until(lambda: not runner.is_healthy())


def test_a_missing_module_leads_with_its_root_cause_and_the_manifest(deployments) -> None:
    """The first line says what is missing; the hint says where to declare it (cog.yaml here,
    the file this solution declares its dependencies in)."""
    context = deployments.context(
        {
            "predict.py": "import not_installed_anywhere_pkg\n\ndef predict(x: int = 1):\n"
            "    return x\n",
            "cog.yaml": "build:\n  python_packages:\n    - packaging\n"
            "predict: predict.py:predict\n",
        }
    )
    runner = deployments.runner(context)
    with pytest.raises(DeployFailedError) as caught:
        runner.deploy()
    first_line = caught.value.message.splitlines()[0]
    assert first_line.endswith(
        "could not import the entry point: ModuleNotFoundError: "
        "No module named 'not_installed_anywhere_pkg'; last log lines:"
    )
    assert "'not_installed_anywhere_pkg' in cog.yaml build.python_packages" in (
        caught.value.hint or ""
    )
