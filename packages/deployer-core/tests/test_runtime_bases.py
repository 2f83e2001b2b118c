"""The runner bases strategies share: EnvelopeClient against a real HTTP server on
127.0.0.1, ProcessServerRunner with a real server process (python -m http.server), and the
standard-library probe behind EnvelopeClient's GETs (raw sockets that misbehave; a deploy's
GETs never import httpx)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from deployer.errors import PortInUseError, PortRaceError, one_line
from deployer.models import RunInterface
from deployer.runtime.http import EnvelopeClient, is_envelope
from deployer.runtime.probe import ProbeError, probe
from deployer.runtime.processes import is_alive
from deployer.runtime.runner import RunnerContext
from deployer.runtime.server import ProcessServerRunner


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # what deployer.runtime.probe reads: readiness, a 503, HTML
        if self.path.startswith("/readyz"):
            ready = self.headers.get("Authorization") == "Bearer t0k"
            code, status = (200, "ready") if ready else (401, "error")
            payload = json.dumps({"status": status, "path": self.path}).encode()
        elif self.path == "/loading":
            code, payload = 503, json.dumps({"status": "loading"}).encode()
        else:
            code, payload = 200, b"<html>not json</html>"
        self.send_response(code)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/slow":
            time.sleep(1.0)
        if self.path == "/garbage":
            payload = b"<html>oops</html>"
        elif self.path == "/stream":
            payload = b"".join(
                json.dumps({"status": "item", "output": i}).encode() + b"\n" for i in range(3)
            )
        else:
            answer = {"status": "success", "output": body, "auth": self.headers.get("X-Token")}
            payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_envelope_client_posts_json_and_returns_the_envelope(server: str) -> None:
    client = EnvelopeClient(server, name="d", timeout=5, headers={"X-Token": "t0k"})
    try:
        answer = client.post_envelope("/run", {"text": "hi"})
        assert answer["status"] == "success" and answer["output"] == {"text": "hi"}
        assert answer["auth"] == "t0k"
        assert client.post_envelope("/run", {"n": 2})["output"] == {"n": 2}  # same connection
    finally:
        client.close()


def test_envelope_client_turns_every_failure_into_one_error_envelope(server: str) -> None:
    client = EnvelopeClient(server, name="d", timeout=0.3)
    garbage = client.post_envelope("/garbage", {})
    assert garbage["status"] == "error" and "HTTP 200" in garbage["error"]
    assert "not JSON-serialisable" in client.post_envelope("/run", {"x": object()})["error"]
    assert "not JSON-serialisable" in client.post_envelope("/run", {"x": float("nan")})["error"]
    slow = client.post_envelope("/slow", {})
    assert "did not answer within 0.3s" in slow["error"]
    client.close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    gone = EnvelopeClient(dead, name="d", timeout=2)
    assert "cannot reach deployment d: ConnectError" in gone.post_envelope("/run", {})["error"]
    explained = gone.post_envelope(
        "/run", {}, on_transport_error=lambda exc: {"status": "error", "error": "it exited"}
    )
    assert explained == {"status": "error", "error": "it exited"}
    assert (
        "has no endpoint"
        in EnvelopeClient(lambda: None, name="d", timeout=1).post_envelope("/run", {})["error"]
    )


def test_envelope_client_streams_items(server: str) -> None:
    client = EnvelopeClient(server, name="d", timeout=5)
    items = list(client.stream_envelopes("/stream", {}))
    assert [item["output"] for item in items] == [0, 1, 2]
    client.close()


def test_is_envelope_and_one_line() -> None:
    assert is_envelope({"status": "success", "output": 1})
    assert not is_envelope({"status": "maybe"}) and not is_envelope([1])
    assert one_line(ValueError("bad\nsecond line")) == "ValueError: bad"
    assert one_line(KeyError()) == "KeyError"
    assert one_line(PortInUseError("port 1 is taken", hint="pick another")) == (
        "port 1 is taken (pick another)"
    )


class HttpServerRunner(ProcessServerRunner):
    """A real server process: the standard library's http.server on the chosen port."""

    races = 0

    def deploy(self) -> None:
        self.serve()

    def start_server(self, port: int) -> None:
        if self.races:
            self.races -= 1
            raise PortRaceError("taken under us")
        self.launch(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            cwd=self.context.adapted_path,
            env=self.serving_env(),
            port=port,
        )
        deadline = time.monotonic() + 30
        while not self.is_healthy():
            assert self.process_alive() and time.monotonic() < deadline
            time.sleep(0.05)

    def is_healthy(self) -> bool:
        try:
            return self.process_alive() and httpx.get(f"{self.endpoint}/").status_code == 200
        except httpx.HTTPError:
            return False

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        reason = self.unavailable_reason()
        return self.not_running(reason) if reason else {"status": "success", "output": None}


def context(tmp_path: Path, **options: Any) -> RunnerContext:
    return RunnerContext(
        name="web",
        adapted_path=tmp_path,
        run_interface=RunInterface(entrypoint="main:run"),
        runtime_dir=tmp_path / "runtime",
        options=options,
    )


def test_process_server_runner_starts_records_reattaches_and_stops(tmp_path: Path) -> None:
    runner = HttpServerRunner(context(tmp_path))
    runner.deploy()
    try:
        state = dict(runner.state)
        assert state["pid"] and state["pid_start_time"] and state["port"]
        assert runner.status() == "running" and runner.endpoint.endswith(str(state["port"]))
        again = HttpServerRunner(context(tmp_path), state)  # another process's view
        assert again.is_healthy() and again.run({})["status"] == "success"
        again.stop()
        assert not is_alive(state["pid"], state["pid_start_time"])
        assert again.status() == "stopped" and again.endpoint is None
        assert "is not running (it is stopped)" in again.run({})["error"]
        assert '"GET / HTTP/1.1" 200' in runner.logs()  # http.server's access log
    finally:
        runner.stop()


def test_a_port_race_is_retried_on_another_port(tmp_path: Path) -> None:
    runner = HttpServerRunner(context(tmp_path))
    runner.races = 2
    runner.deploy()
    try:
        assert runner.is_healthy()
    finally:
        runner.stop()
    always = HttpServerRunner(context(tmp_path))
    always.races = 99
    with pytest.raises(PortInUseError):
        always.deploy()


def test_a_fixed_port_that_is_taken_fails_before_starting(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        runner = HttpServerRunner(context(tmp_path, port=port))
        with pytest.raises(PortInUseError, match=f"port {port} is already in use"):
            runner.deploy()
        assert not runner.state.get("pid")


def test_a_dead_server_is_reported_as_exited(tmp_path: Path) -> None:
    runner = HttpServerRunner(context(tmp_path))
    runner.deploy()
    pid = runner.state["pid"]
    os.kill(pid, signal.SIGKILL)  # the crash
    assert runner.status() == "failed"
    assert f"its server process {pid} has exited" in runner.run({})["error"]
    runner.stop()


# -- deployer.runtime.probe: the standard-library GETs a deploy makes -------------------------


def test_a_probe_sends_the_headers_and_returns_status_and_body(server: str) -> None:
    answer = probe(f"{server}/readyz?full=1", headers={"Authorization": "Bearer t0k"}, timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "path": "/readyz?full=1"}
    refused = probe(f"{server}/readyz", timeout=5)  # no token: the server's 401, not an error
    assert refused.status_code == 401 and refused.json()["status"] == "error"
    html = probe(f"{server}/page", timeout=5)
    assert html.text == "<html>not json</html>"
    with pytest.raises(ValueError):
        html.json()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent() -> Iterator[int]:
    """Accepts connections and never answers (a server stuck in its load step)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def not_http() -> Iterator[int]:
    """Answers every connection with a line that is not HTTP, then closes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(1024)
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()


def test_no_answer_is_one_probe_error(silent: int, not_http: int) -> None:
    with pytest.raises(ProbeError, match="ConnectionRefusedError"):
        probe(f"http://127.0.0.1:{closed_port()}/readyz", timeout=2)
    with pytest.raises(ProbeError, match="timed out|TimeoutError"):
        probe(f"http://127.0.0.1:{silent}/readyz", timeout=0.3)
    with pytest.raises(ProbeError):
        probe(f"http://127.0.0.1:{not_http}/readyz", timeout=2)
    with pytest.raises(ProbeError, match="not an http"):
        probe("file:///etc/passwd", timeout=1)


def test_envelope_client_readiness_and_schema_read_through_the_probe(
    server: str, silent: int
) -> None:
    client = EnvelopeClient(server, name="d", timeout=5, headers={"Authorization": "Bearer t0k"})
    assert client.readiness().state == "ready"
    assert client.get("/loading").status_code == 503
    assert client.schema() is None  # /schema here is HTML: no schema, no exception
    gone = EnvelopeClient(f"http://127.0.0.1:{closed_port()}", name="d", timeout=5)
    assert gone.readiness().state == "stopped" and gone.schema() is None
    stuck = EnvelopeClient(f"http://127.0.0.1:{silent}", name="d", timeout=5)
    assert stuck.readiness(timeout=0.3).state == "stopped"
    assert client._client is None  # no httpx client was made for any of these GETs


def test_the_gets_of_a_deploy_do_not_import_httpx(server: str) -> None:
    """In a fresh interpreter: readiness, schema and a GET through EnvelopeClient leave httpx
    unimported; the first call (a POST) imports it."""
    script = f"""
import sys
from deployer.runtime.http import EnvelopeClient
client = EnvelopeClient({server!r}, name="d", timeout=5, headers={{"Authorization": "Bearer t0k"}})
assert client.readiness().state == "ready"
client.schema()
client.get("/loading")
print("httpx" in sys.modules)
client.post_envelope("/run", {{}})
print("httpx" in sys.modules)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
