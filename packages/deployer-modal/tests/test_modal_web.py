"""web=true: run() goes over HTTP with httpx to the URL Modal gave the endpoint.

No Modal account is reachable here, so the HTTPS front Modal puts before a web endpoint is
stood in for by a loopback HTTP server that passes each POST body to the generated app's
`web` function (called with `.local()`): the runner's httpx path and the generated endpoint
are both real, only Modal's routing between them is not.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

import pytest

from modal_support import EXAMPLES


class FakeModalWebFront:
    """POST / -> the generated web endpoint's answer, as JSON (what Modal's front returns)."""

    def __init__(self, endpoint: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        front = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                front.requests += 1
                try:
                    answer = json.dumps(endpoint(json.loads(body))).encode()
                    status = 200
                except Exception as exc:  # what FastAPI does with an unhandled error
                    answer, status = f"Internal Server Error: {exc}".encode(), 500
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.requests = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def web_front() -> Iterator[Callable[[Callable[[dict[str, Any]], Any]], FakeModalWebFront]]:
    started: list[FakeModalWebFront] = []

    def start(endpoint: Callable[[dict[str, Any]], Any]) -> FakeModalWebFront:
        front = FakeModalWebFront(endpoint)
        started.append(front)
        return front

    yield start
    for front in started:
        front.close()


def web_runner(deployments, source, name: str, url: str, variant: str):
    runner = deployments.runner(deployments.context(source, name=name, options={"web": True}))
    runner.state = {
        "target": "cloud",
        "running": True,
        "app_name": name,
        "app_id": "ap-deployerTestFakeApp0002",
        "environment": None,
        "variant": variant,
        "web": True,
        "web_url": url,
    }
    return runner


def generated_app(runner) -> ModuleType:
    from deployer_modal import sdk

    return sdk.load_app(runner.context.adapted_path)


def test_web_endpoint_fake_modal_front_function(deployments, web_front) -> None:
    """No token is needed: a deployed web endpoint is a public URL."""
    runner = web_runner(deployments, EXAMPLES / "hello", "webfn", "http://placeholder", "function")
    app = generated_app(runner)
    deployments.modules.append(app)
    front = web_front(app.web.local)
    runner.state["web_url"] = front.url
    assert runner.endpoint == front.url
    assert runner.run({"name": "Ada"}) == {
        "status": "success",
        "output": {"message": "Hello, Ada!", "length": 3},
    }
    wrong = runner.run({"nme": "Ada"})
    assert (
        wrong["status"] == "error"
        and "unknown field (expected fields: name, greeting)" in wrong["error"]
    )
    assert front.requests == 2


def test_web_endpoint_fake_modal_front_class(deployments, web_front) -> None:
    source = EXAMPLES / "modal_classifier"
    runner = web_runner(deployments, source, "webcls", "http://placeholder", "cls")
    app = generated_app(runner)
    deployments.modules.append(app)
    front = web_front(app.Solution().web.local)
    runner.state["web_url"] = front.url
    outputs = [runner.run({"text": t})["output"] for t in ("cake and cherries", "a new chip")]
    assert [o["topic"] for o in outputs] == ["food", "tech"]
    assert {o["load_calls"] for o in outputs} == {1}


def test_web_endpoint_failures_are_envelopes(deployments, web_front, closed_port) -> None:
    def crash(inputs: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    front = web_front(crash)
    runner = web_runner(deployments, EXAMPLES / "hello", "webbad", front.url, "function")
    result = runner.run({"name": "Ada"})
    assert result["status"] == "error"
    assert result["error"].startswith(f"unexpected answer from {front.url}: HTTP 500")
    runner.state["web_url"] = f"http://127.0.0.1:{closed_port}/"
    runner.close()
    gone = runner.run({"name": "Ada"})
    assert gone == {
        "status": "error",
        "error": f"cannot reach webbad at http://127.0.0.1:{closed_port}/: ConnectError",
    }
