"""deployer.runtime.probe: the standard-library GETs a deploy makes (readiness, health,
schema), against a real HTTP server on 127.0.0.1 and raw sockets that misbehave; and that a
local deploy's path through EnvelopeClient's GETs never imports httpx."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from deployer.runtime.http import EnvelopeClient
from deployer.runtime.probe import ProbeError, probe


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/readyz"):
            ready = self.headers.get("Authorization") == "Bearer t0k"
            code, body = (200, {"status": "ready"}) if ready else (401, {"status": "error"})
            payload = json.dumps({**body, "path": self.path}).encode()
        elif self.path == "/loading":
            code, payload = 503, json.dumps({"status": "loading"}).encode()
        else:
            code, payload = 200, b"<html>not json</html>"
        self.send_response(code)
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
