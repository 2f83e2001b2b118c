"""The HTTP server: standard library `ThreadingHTTPServer`, with the request handling made strict.

Framing: one Content-Length (digits only) or `Transfer-Encoding: chunked` (strict, capped),
never both; a POST with neither is refused (411). Anything that could leave the stream out of
step closes the connection. Bodies over the limit are refused before they are read (413).
Keep-alive connections that stay idle past the idle timeout are closed.
Access: /livez is open; everything else needs `Host` to be an allowed address, no `Origin`
header (browsers send one; scripts do not) and `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hmac
import inspect
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import aio, encode
from .loader import Entry, ImportFailed, LoadError, resolve, root_cause
from .observe import AccessLog, Metrics
from .schema import InputError
from .spec import EntrySpec
from .watchdog import Deadline, Watchdog

JSON = "application/json"
NDJSON = "application/x-ndjson"
_HEX = frozenset(b"0123456789abcdefABCDEF")
MAX_TRAILERS = 32


@dataclasses.dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 0
    token: bytes | None = None
    allowed_hosts: frozenset[str] | None = None  # None: any Host header
    max_body: int = 32 * 1024 * 1024
    run_timeout: float | None = 300.0
    max_concurrency: int = 64
    queue_timeout: float = 2.0
    idle_timeout: float = 30.0


class Runtime:
    """Everything the handlers share: settings, load state, limits, log and metrics."""

    def __init__(self, settings: Settings, log: AccessLog) -> None:
        self.settings = settings
        self.log = log
        self.metrics = Metrics()
        self.status = "loading"
        self.error: str | None = None
        self.entry: Entry | None = None
        self.call: Callable[[Any], Any] | None = None
        self.stream_call: Callable[[Any], Any] | None = None
        self.validate: Callable[[Any], Any] | None = None
        self.schema_body: bytes | None = None
        self.slots = threading.BoundedSemaphore(settings.max_concurrency)
        self.watchdog = Watchdog(settings.run_timeout) if settings.run_timeout else None
        self.expected_auth = b"Bearer " + settings.token if settings.token else None
        self.load_failed = threading.Event()

    def load(self, spec: EntrySpec) -> None:
        """Resolve and start the entry point (in the loading thread)."""
        started = time.perf_counter()
        self.log.now(f"loading {spec.entrypoint} (pid {os.getpid()})")
        try:
            entry = resolve(spec)
            self.entry = entry
            self.validate = entry.validator()
            self.schema_body = encode.dumps(entry.input_schema())
            self.call = entry.starter() if entry.starter else None
            self.stream_call = entry.streamer() if entry.streamer else None
        except BaseException as exc:  # a solution may raise SystemExit at import
            if isinstance(exc, ImportFailed):
                message = f"importing {spec.entrypoint} failed: {exc}"
            elif isinstance(exc, LoadError):
                message = str(exc)
            else:
                root = root_cause(exc)
                message = f"loading {spec.entrypoint} failed: {type(root).__name__}: {root}"
            self.error = message
            self.status = "failed"
            self.log.now(message)
            if not isinstance(exc, LoadError) or isinstance(exc, ImportFailed):
                traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
                sys.stderr.flush()
            self.load_failed.set()
            return
        self.status = "ready"
        took = time.perf_counter() - started
        self.log.now(f"ready: {spec.entrypoint} ({entry.kind}) loaded in {took:.2f}s")

    def readiness(self) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {"status": self.status, "pid": os.getpid()}
        if self.entry is not None:
            body["entrypoint"] = self.entry.spec.entrypoint
            body["entry_kind"] = self.entry.kind
            body["streaming"] = self.entry.streaming or self.entry.streamer is not None
        if self.error:
            body["error"] = self.error
        return (200 if self.status == "ready" else 503), body


class RuntimeServer(ThreadingHTTPServer):
    request_queue_size = 2048  # the stdlib's 5 resets bursts of new connections
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    runtime: Runtime


_date_second = -1
_date_text = b""


def _http_date() -> bytes:
    global _date_second, _date_text
    now = int(time.time())
    if now != _date_second:
        _date_text = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)).encode()
        _date_second = now
    return _date_text


def envelope_error(message: str, **extra: Any) -> dict[str, Any]:
    return {"status": "error", "error": message, **extra}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are one write anyway; without TCP_NODELAY a keep-alive client's delayed
    # ACK adds ~40 ms to responses that need two segments.
    disable_nagle_algorithm = True
    server_version = "deployer-runtime"
    sys_version = ""
    server: RuntimeServer
    timeout = 30.0

    _started = 0.0
    _outcome = ""
    _path = ""
    _answered = False

    # ------------------------------------------------------------------ plumbing

    def parse_request(self) -> bool:
        self._started = time.perf_counter()
        self._outcome = ""
        self._path = ""
        self._answered = False
        return super().parse_request()

    def log_message(self, format: str, *args: Any) -> None:
        self.server.runtime.log.line(f"{self.client_address[0]} {format % args}")

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        """Called by the stdlib for its own answers (the 100 Continue); ours log in _finish."""

    def _finish(self, code: int) -> None:
        took = time.perf_counter() - self._started
        runtime = self.server.runtime
        runtime.metrics.observe(self._path, code, took)
        suffix = f" {self._outcome}" if self._outcome else ""
        runtime.log.line(
            f'{self.client_address[0]}:{self.client_address[1]} "{self.requestline}" '
            f"{code}{suffix} {took * 1000:.1f}ms"
        )

    def _send(
        self,
        code: int,
        body: bytes,
        content_type: str = JSON,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        if self._answered:
            return
        self._answered = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        head = [
            f"HTTP/1.1 {code} {phrase}\r\nServer: deployer-runtime\r\nDate: ".encode(),
            _http_date(),
            f"\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n".encode(),
        ]
        for name, value in extra:
            head.append(f"{name}: {value}\r\n".encode())
        if self.close_connection:
            head.append(b"Connection: close\r\n")
        head.append(b"\r\n")
        head.append(body)
        self.wfile.write(b"".join(head))
        self._finish(code)

    def _json(self, code: int, payload: dict[str, Any], **kwargs: Any) -> None:
        try:
            body = encode.dumps(payload)
        except encode.EncodeError as exc:
            code = 500
            self._outcome = "error"
            body = encode.dumps(envelope_error(str(exc)))
        self._send(code, body, **kwargs)

    def _refuse(self, code: int, message: str, *, close: bool = False, **extra: Any) -> None:
        self._outcome = "error"
        if close:
            self.close_connection = True
        headers: tuple[tuple[str, str], ...] = ()
        if code == 401:
            headers = (("WWW-Authenticate", "Bearer"),)
        elif code in (429, 503):
            headers = (("Retry-After", "1"),)
        self._json(code, envelope_error(message, **extra), extra=headers)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's protocol errors (bad request line, header overflow, unknown method)."""
        self.close_connection = True
        if not self.requestline:
            self.requestline = "-"
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        self._refuse(code, message or phrase, close=True)

    def handle_expect_100(self) -> bool:
        length = self.headers.get("Content-Length", "")
        if length.strip().isdigit() and int(length) > self.server.runtime.settings.max_body:
            self._path = self.path.split("?", 1)[0]
            self._refuse(413, self._too_large(), close=True)
            return False
        return super().handle_expect_100()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as exc:  # never let one request take the connection's thread down noisily
            self.close_connection = True
            self.server.runtime.log.now(f"internal error: {type(exc).__name__}: {exc}")
            traceback.print_exc(file=sys.stderr)
            with contextlib.suppress(OSError):
                self._refuse(500, f"internal error: {type(exc).__name__}", close=True)

    # ------------------------------------------------------------------ access

    def _fields(self) -> dict[str, list[str]]:
        """The request's headers by lower-case name, read once (each lookup in the stdlib's
        message object scans every header)."""
        fields = self.__dict__.get("_fields_cache")
        if fields is None or fields[0] is not self.headers:
            table: dict[str, list[str]] = {}
            for name, value in self.headers.items():
                table.setdefault(name.lower(), []).append(value)
            fields = (self.headers, table)
            self.__dict__["_fields_cache"] = fields
        return fields[1]

    def _allowed(self) -> bool:
        runtime = self.server.runtime
        settings = runtime.settings
        fields = self._fields()
        hosts = fields.get("host", ())
        if len(hosts) != 1:
            self._refuse(400, "a request needs exactly one Host header", close=True)
            return False
        if (
            settings.allowed_hosts is not None
            and hosts[0].strip().lower() not in settings.allowed_hosts
        ):
            self._refuse(403, "this Host is not the deployment's address", close=True)
            return False
        if "origin" in fields:
            self._refuse(
                403, "requests from web pages (with an Origin header) are refused", close=True
            )
            return False
        expected = runtime.expected_auth
        if expected is not None:
            given = fields.get("authorization")
            if not given:
                self._refuse(401, "missing token: send 'Authorization: Bearer <token>'", close=True)
                return False
            if len(given) != 1 or not hmac.compare_digest(
                given[0].encode("latin-1", "replace"), expected
            ):
                self._refuse(401, "wrong token", close=True)
                return False
        return True

    # ------------------------------------------------------------------ bodies

    def _too_large(self) -> str:
        limit = self.server.runtime.settings.max_body
        return f"the request body is over the limit of {limit} bytes"

    def _read_body(self) -> bytes | None:
        """The request body, or None when an answer was sent (or the peer is gone)."""
        fields = self._fields()
        encodings = fields.get("transfer-encoding")
        lengths = fields.get("content-length")
        if encodings:
            if lengths:
                self._refuse(
                    400, "Content-Length and Transfer-Encoding together are refused", close=True
                )
                return None
            if len(encodings) != 1 or encodings[0].strip().lower() != "chunked":
                self._refuse(501, "only 'Transfer-Encoding: chunked' is supported", close=True)
                return None
            return self._read_chunked()
        if not lengths:
            if self.command == "POST":
                self._refuse(411, "a request body needs a Content-Length", close=True)
                return None
            return b""
        if len(lengths) != 1:
            self._refuse(400, "more than one Content-Length header", close=True)
            return None
        text = lengths[0].strip()
        if not text.isascii() or not text.isdigit() or len(text) > 18:
            self._refuse(400, f"invalid Content-Length {text[:20]!r}", close=True)
            return None
        length = int(text)
        if length > self.server.runtime.settings.max_body:
            self._refuse(413, self._too_large(), close=True)
            return None
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            self.close_connection = True
            return None
        return body

    def _read_chunked(self) -> bytes | None:
        limit = self.server.runtime.settings.max_body
        rfile = self.rfile
        parts: list[bytes] = []
        total = 0
        while True:
            line = rfile.readline(1024)
            if not line.endswith(b"\r\n"):
                if line:
                    self._refuse(400, "malformed chunk size line", close=True)
                self.close_connection = True
                return None
            size_text = line[:-2].split(b";", 1)[0]
            if not size_text or len(size_text) > 15 or not _HEX.issuperset(size_text):
                self._refuse(400, "malformed chunk size", close=True)
                return None
            size = int(size_text, 16)
            if size == 0:
                break
            total += size
            if total > limit:
                self._refuse(413, self._too_large(), close=True)
                return None
            data = rfile.read(size)
            if len(data) < size:
                self.close_connection = True
                return None
            parts.append(data)
            if rfile.read(2) != b"\r\n":
                self._refuse(400, "a chunk is not followed by CRLF", close=True)
                return None
        for _ in range(MAX_TRAILERS):
            trailer = rfile.readline(8192)
            if trailer == b"\r\n":
                return b"".join(parts)
            if not trailer.endswith(b"\r\n"):
                break
        self._refuse(400, "malformed chunked trailer", close=True)
        return None

    # ------------------------------------------------------------------ routes

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self._path = path
        if path == "/livez":
            self._send(200, b'{"status":"alive"}')
            return
        fields = self._fields()
        if "content-length" in fields or "transfer-encoding" in fields:
            self.close_connection = True  # a GET body is never read: do not reuse the stream
        if not self._allowed():
            return
        runtime = self.server.runtime
        if path in ("/readyz", "/health"):
            code, body = runtime.readiness()
            self._json(code, body)
        elif path == "/schema":
            if runtime.schema_body is None:
                self._refuse(503, f"no schema yet: the entry point is {runtime.status}")
            else:
                self._send(200, runtime.schema_body)
        elif path == "/metrics":
            self._send(200, runtime.metrics.render().encode(), "text/plain; version=0.0.4")
        else:
            self._refuse(404, f"no such path {path[:100]!r}: use POST /run")

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        self._path = path
        if path not in ("/run", "/stream"):
            self.close_connection = True
            self._refuse(404, f"no such path {path[:100]!r}: use POST /run")
            return
        if not self._allowed():
            return
        body = self._read_body()
        if body is None:
            return
        runtime = self.server.runtime
        if runtime.status != "ready":
            if runtime.status == "loading":
                self._refuse(503, "still loading: retry when GET /readyz answers 200")
            else:
                self._refuse(503, f"the entry point failed to load: {runtime.error}")
            return
        if not body:
            self._refuse(400, "the request body is empty: send a JSON object ({} for no inputs)")
            return
        try:
            inputs = encode.loads(body)
        except RecursionError:
            self._refuse(400, "the request body is nested too deeply")
            return
        except (ValueError, UnicodeDecodeError) as exc:
            self._refuse(400, f"the request body is not valid JSON: {str(exc)[:200]}")
            return
        if not isinstance(inputs, dict):
            self._refuse(400, f"inputs must be a JSON object, got {encode_kind(inputs)}")
            return
        try:
            arguments = runtime.validate(inputs)  # type: ignore[misc]
        except InputError as exc:
            self._refuse(422, f"invalid input: {exc}"[:1000], field=exc.field)
            return
        except RecursionError:
            self._refuse(400, "the inputs are nested too deeply")
            return
        streaming = path == "/stream" or NDJSON in " ".join(self._fields().get("accept", ()))
        slots = runtime.slots
        if not slots.acquire(blocking=False) and not slots.acquire(
            timeout=runtime.settings.queue_timeout
        ):
            limit = runtime.settings.max_concurrency
            self._refuse(429, f"busy: {limit} calls are running; retry later")
            return
        try:
            if streaming:
                self._stream(arguments)
            else:
                self._run(arguments)
        finally:
            runtime.slots.release()

    # ------------------------------------------------------------------ calls

    def _arm(self, on_timeout: Callable[[], None]) -> Deadline | None:
        watchdog = self.server.runtime.watchdog
        return watchdog.arm(on_timeout) if watchdog is not None else None

    def _timeout_message(self) -> str:
        seconds = self.server.runtime.settings.run_timeout
        return (
            f"the call did not finish within {seconds:g}s (the run timeout); a synchronous call "
            "may still be running in the server"
        )

    def _hang_up(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _run(self, arguments: Any) -> None:
        runtime = self.server.runtime
        cancel: list[Any] = []

        def on_timeout() -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._refuse(504, self._timeout_message(), close=True)
            self._hang_up()
            for future in cancel:
                future.cancel()

        deadline = self._arm(on_timeout)
        try:
            output = _complete(runtime.call(arguments), cancel)  # type: ignore[misc]
        except BaseException as exc:
            if deadline is not None and not deadline.disarm():
                self.close_connection = True
                return
            if isinstance(exc, KeyboardInterrupt):
                raise
            self._solution_error(exc)
            return
        if deadline is not None and not deadline.disarm():
            self.close_connection = True
            return
        try:
            body = encode.dumps({"status": "success", "output": output})
        except encode.EncodeError as exc:
            self._outcome = "error"
            self._json(500, envelope_error(str(exc)))
            return
        self._outcome = "success"
        self._send(200, body)

    def _solution_error(self, exc: BaseException) -> None:
        runtime = self.server.runtime
        status = getattr(exc, "status", None)
        if type(exc).__name__ == "AppError" and isinstance(status, int):
            self._refuse(status if 400 <= status < 600 else 502, str(exc))
            return
        name = runtime.entry.spec.entrypoint if runtime.entry else "the entry point"
        runtime.log.now(f"{name} raised {type(exc).__name__}:")
        _print_solution_traceback(exc)
        self._refuse(500, f"{type(exc).__name__}: {exc}"[:2000])

    def _stream(self, arguments: Any) -> None:
        runtime = self.server.runtime
        call = runtime.stream_call or runtime.call
        lock = threading.Lock()
        state = {"ended": False}
        self.close_connection = self.close_connection  # keep-alive survives a clean stream
        cancel: list[Any] = []

        def write_chunk(payload: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))

        def end(final: dict[str, Any], code_outcome: str) -> None:
            with lock:
                if state["ended"]:
                    return
                state["ended"] = True
                self._outcome = code_outcome
                try:
                    write_chunk(encode.dumps(final) + b"\n")
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    self.close_connection = True

        def on_timeout() -> None:
            self.close_connection = True
            end(envelope_error(self._timeout_message()), "error")
            self._hang_up()
            for future in list(cancel):
                future.cancel()

        deadline = self._arm(on_timeout)
        try:
            result = call(arguments)  # type: ignore[misc]
            if hasattr(result, "run") and type(result).__name__ == "_Awaiting":
                result = _complete(result, cancel)
        except BaseException as exc:
            if deadline is not None and not deadline.disarm():
                return
            self._solution_error(exc)
            return
        if deadline is not None and not deadline.disarm():
            return
        head = (
            b"HTTP/1.1 200 OK\r\nServer: deployer-runtime\r\nDate: "
            + _http_date()
            + b"\r\nContent-Type: "
            + NDJSON.encode()
            + b"\r\nTransfer-Encoding: chunked\r\n"
            b"Cache-Control: no-cache\r\n\r\n"
        )
        self._answered = True
        iterator = _items(result, cancel)
        deadline = None
        try:
            self.wfile.write(head)
            while True:
                deadline = self._arm(on_timeout)
                try:
                    item = next(iterator)
                except StopIteration:
                    break
                if deadline is not None and not deadline.disarm():
                    break
                deadline = None
                body = encode.dumps({"status": "item", "output": item}) + b"\n"
                with lock:
                    if state["ended"]:
                        break
                    write_chunk(body)
        except encode.EncodeError as exc:
            end(envelope_error(str(exc)), "error")
        except OSError:
            self.close_connection = True
            _close(result)
            state["ended"] = True
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            if deadline is None or deadline.disarm():
                runtime.log.now(f"the stream raised {type(exc).__name__}:")
                _print_solution_traceback(exc)
                end(envelope_error(f"{type(exc).__name__}: {exc}"[:2000]), "error")
        else:
            if deadline is None or deadline.disarm():
                end({"status": "success"}, "success")
        self._finish(200)


def encode_kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _complete(result: Any, cancel: list[Any]) -> Any:
    """A call's result as a value: coroutines run on the loop, generators collected to a list."""
    if type(result).__name__ == "_Awaiting":
        future = aio.submit(result.run())
        cancel.append(future)
        result = future.result()
    if inspect.isasyncgen(result) or isinstance(result, AsyncIterator):
        return aio.run(aio.collect(result))
    if inspect.isgenerator(result) or isinstance(result, Iterator):
        return list(result)
    return result


def _items(result: Any, cancel: list[Any]) -> Iterator[Any]:
    """The items of a streamed result (a single value is one item)."""
    if inspect.isasyncgen(result) or isinstance(result, AsyncIterator):
        iterator = result.__aiter__()
        while True:
            future = aio.submit(aio.next_item(iterator))
            cancel.append(future)
            try:
                item = future.result()
            finally:
                cancel.remove(future)
            if item is aio.END:
                return
            yield item
    elif inspect.isgenerator(result) or isinstance(result, Iterator):
        yield from result
    else:
        yield result


def _close(result: Any) -> None:
    close = getattr(result, "close", None)
    if callable(close) and inspect.isgenerator(result):
        with contextlib.suppress(Exception):
            close()


def _print_solution_traceback(exc: BaseException) -> None:
    """The traceback from the solution's frames on, without the runtime's own."""
    here = os.path.dirname(os.path.abspath(__file__))
    tb = exc.__traceback__
    while (
        tb is not None
        and tb.tb_next is not None
        and tb.tb_frame.f_code.co_filename.startswith(here)
    ):
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb, file=sys.stderr)
    sys.stderr.flush()
