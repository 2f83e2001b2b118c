"""Calling a web app in-process: the JSON body is POSTed to one route of an ASGI or WSGI app.

No second server and no socket: the app is driven with a minimal ASGI scope/receive/send (on
the shared event loop, lifespan startup included) or a wsgiref-style environ.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from typing import Any

from . import aio


class AppError(Exception):
    """The app answered with a non-2xx status: the envelope carries the status and an excerpt."""

    def __init__(self, status: int, body: bytes) -> None:
        excerpt = body[:300].decode("utf-8", "replace").strip()
        super().__init__(f"the app answered HTTP {status}: {excerpt}")
        self.status = status


def decode_body(headers: list[tuple[str, str]], body: bytes) -> Any:
    """A JSON response as its value; any other body as text."""
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    if "json" in content_type.lower() or not content_type:
        try:
            return json.loads(body)
        except ValueError:
            pass
    return body.decode("utf-8", "replace")


def post_routes_asgi(app: Any) -> list[str]:
    """The POST routes of a FastAPI/Starlette app, without path parameters."""
    routes = getattr(app, "routes", None)
    if routes is None:
        return []
    found = []
    for route in routes:
        methods = getattr(route, "methods", None) or ()
        path = getattr(route, "path", None)
        if "POST" in methods and isinstance(path, str) and "{" not in path:
            found.append(path)
    return found


def post_routes_wsgi(app: Any) -> list[str]:
    """The POST routes of a Flask app, without path parameters."""
    url_map = getattr(app, "url_map", None)
    if url_map is None:
        return []
    return [
        rule.rule
        for rule in url_map.iter_rules()
        if "POST" in (rule.methods or ()) and "<" not in rule.rule and rule.endpoint != "static"
    ]


class AsgiClient:
    """Drives an ASGI 3 app on the shared loop."""

    def __init__(self, app: Any, route: str) -> None:
        self.app = app
        self.route = route
        self.state: dict[str, Any] = {}
        self._lifespan_receive: asyncio.Queue[dict[str, Any]] | None = None

    def startup(self) -> None:
        """Run the app's lifespan startup (where FastAPI apps load their models)."""
        aio.run(self._startup())

    async def _startup(self) -> None:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._lifespan_receive = queue

        async def send(message: dict[str, Any]) -> None:
            kind = message.get("type")
            if kind == "lifespan.startup.complete" and not started.done():
                started.set_result(None)
            elif kind == "lifespan.startup.failed" and not started.done():
                started.set_exception(RuntimeError(message.get("message") or "startup failed"))

        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self.state}
        await queue.put({"type": "lifespan.startup"})
        task = asyncio.ensure_future(self.app(scope, queue.get, send))
        done, _ = await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
        if started in done:
            started.result()
            return
        # The app returned or raised before completing startup: it does not do lifespan.
        if not started.done():
            started.cancel()
        if task.exception() is not None and not isinstance(task.exception(), Exception):
            raise task.exception()  # type: ignore[misc]

    def post(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        return aio.run(self._post(body))

    async def _post(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        finished = asyncio.Event()
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await finished.wait()
            return {"type": "http.disconnect"}

        status = 500
        headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message.get("headers", ())
                ]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    finished.set()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": self.route,
            "raw_path": self.route.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"deployer-runtime"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": ("127.0.0.1", 0),
            "server": ("127.0.0.1", 80),
            "state": dict(self.state),
        }
        try:
            await self.app(scope, receive, send)
        finally:
            finished.set()
        return status, headers, b"".join(chunks)


class WsgiClient:
    """Calls a WSGI app with an environ built the way wsgiref builds it."""

    def __init__(self, app: Any, route: str) -> None:
        self.app = app
        self.route = route

    def post(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        environ = {
            "REQUEST_METHOD": "POST",
            "SCRIPT_NAME": "",
            "PATH_INFO": self.route,
            "QUERY_STRING": "",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            answer["status"] = int(status.split(" ", 1)[0])
            answer["headers"] = headers
            return lambda data: None

        result = self.app(environ, start_response)
        try:
            body_out = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if callable(close):
                close()
        return answer.get("status", 500), answer.get("headers", []), body_out
