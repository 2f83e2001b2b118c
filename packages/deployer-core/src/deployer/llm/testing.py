"""A scripted OpenAI-compatible chat-completions server, for tests and benchmarks.

No model provider is needed to exercise deployer's LLM layer for real: point litellm at this
server (`api_base`, or `OPENAI_API_BASE`) with a model such as "openai/test-model", and it
answers `POST /v1/chat/completions` (and `/chat/completions`) with the replies scripted for
the test, in order. A reply can be a plain string (the assistant message content), a `Reply`
with an HTTP status, a raw body or a delay (for timeouts), or a callable that builds one from
the request. Every request body is recorded in `requests`.

Standard library only; the server runs in a daemon thread on 127.0.0.1.

    with ScriptedLLMServer() as server:
        server.script('{"strategy": "local", "reasoning": "plain function"}')
        ...  # litellm.completion(model="openai/test-model", api_base=server.base_url, ...)
        assert server.requests[0]["messages"][0]["role"] == "system"
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")


@dataclass
class Reply:
    """One scripted answer: message content, or an error status, or a raw body; after a delay."""

    content: str = ""
    status: int = 200
    delay: float = 0.0
    body: str | None = None  # sent verbatim instead of a chat completion (malformed replies)
    error: str = "scripted error"


Script = str | Reply | Callable[[dict[str, Any]], "str | Reply"]


def completion_body(model: str, content: str, prompt_chars: int = 0) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-scripted-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": max(1, prompt_chars // 4),
            "completion_tokens": max(1, len(content) // 4),
            "total_tokens": max(1, prompt_chars // 4) + max(1, len(content) // 4),
        },
    }


class ScriptedLLMServer:
    """An OpenAI-compatible server answering from a script. Use as a context manager."""

    def __init__(self, default: Script | None = None) -> None:
        self._queue: deque[Script] = deque()
        self._lock = threading.Lock()
        self.default = default
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ---------------------------------------------------------------------------

    def script(self, *replies: Script) -> ScriptedLLMServer:
        """Queue replies, answered in order. When the queue is empty, `default` answers (or a
        500 saying that nothing was scripted, so a test sees the surprise)."""
        with self._lock:
            self._queue.extend(replies)
        return self

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def _next(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            item: Script | None = self._queue.popleft() if self._queue else self.default
        if item is None:
            return Reply(status=500, error="the scripted server has no reply left")
        if callable(item):
            item = item(request)
        return Reply(content=item) if isinstance(item, str) else item

    # -- serving -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """The api_base to give litellm (OpenAI style, ending in /v1)."""
        return f"{self.url}/v1"

    def start(self) -> ScriptedLLMServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the client gave up (a timeout test)
                    self.wfile.write(payload)

            def do_GET(self) -> None:
                if self.path.rstrip("/") in {"/v1/models", "/models"}:
                    body = {"object": "list", "data": [{"id": "test-model", "object": "model"}]}
                    self._send(200, json.dumps(body).encode())
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                path = self.path.split("?", 1)[0]
                if path not in CHAT_PATHS:
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                try:
                    request = json.loads(raw or b"{}")
                except ValueError:
                    self._send(400, b'{"error": {"message": "body is not JSON"}}')
                    return
                owner.paths.append(path)
                owner.headers.append({k.lower(): v for k, v in self.headers.items()})
                reply = owner._next(request)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.body is not None:
                    self._send(reply.status, reply.body.encode())
                elif reply.status != 200:
                    error = {"error": {"message": reply.error, "type": "scripted", "code": None}}
                    self._send(reply.status, json.dumps(error).encode())
                else:
                    prompt_chars = sum(len(str(m.get("content", ""))) for m in request["messages"])
                    body = completion_body(
                        str(request.get("model", "")), reply.content, prompt_chars
                    )
                    self._send(200, json.dumps(body).encode())

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inspection --------------------------------------------------------------------------

    def prompt_text(self, index: int = -1) -> str:
        """All message contents of one recorded request, joined (for assertions)."""
        messages = self.requests[index]["messages"]
        return "\n".join(str(m.get("content", "")) for m in messages)
