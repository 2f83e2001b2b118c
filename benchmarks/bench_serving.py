"""The serving runtime against the server it replaces, uvicorn + starlette and `bentoml serve`.

For each server: a trivial function at concurrency 1, 8 and 32 and a 50 ms function at
concurrency 8 (req/s, p50, p99), measured with a keep-alive raw-socket client (one selectors
loop, one request in flight per connection, so the client is not the limit); time to the first
streamed item; and a burst of 32 new connections at once (failures, slowest answer). Ratios are
printed against the old server (the runtime must keep >= 90 % of its throughput and p99).

    python benchmarks/bench_serving.py [--seconds 3] [--json] [--skip-bentoml]

Servers run with the Python running this script (deployer-core installed; uvicorn, starlette
and bentoml optional: a missing one is reported and skipped).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import selectors
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from deployer.runtime.serving_install import install_serving_runtime

REPO_ROOT = Path(__file__).resolve().parent.parent
OLD_TEMPLATE = "packages/deployer-local/src/deployer_local/templates/deployer_server.py.tmpl"
OLD_TEMPLATE_DOCKER = (
    "packages/deployer-docker/src/deployer_docker/templates/deployer_server.py.tmpl"
)
OLD_COMMIT = "b182180"  # the last commit where both copies of the old server were live
TOKEN = "bench-token-0123456789"

SOLUTION = """
import time


def trivial(text: str) -> str:
    return text


def slow(text: str) -> str:
    time.sleep(0.05)
    return text


def tokens(text: str):
    for word in ("first", "second", "third"):
        yield word
"""

STARLETTE_APP = """
import time
from starlette.applications import Starlette
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route
from starlette.concurrency import run_in_threadpool


def slow_call(text):
    time.sleep(0.05)
    return text


async def trivial(request):
    body = await request.json()
    return JSONResponse({"status": "success", "output": body["text"]})


async def slow(request):
    body = await request.json()
    output = await run_in_threadpool(slow_call, body["text"])
    return JSONResponse({"status": "success", "output": output})


async def stream(request):
    await request.json()
    def items():
        for word in ("first", "second", "third"):
            yield ('{"status":"item","output":"%s"}\\n' % word).encode()
    return StreamingResponse(items(), media_type="application/x-ndjson")


app = Starlette(routes=[
    Route("/trivial", trivial, methods=["POST"]),
    Route("/slow", slow, methods=["POST"]),
    Route("/stream", stream, methods=["POST"]),
])
"""

BENTO_SERVICE = """
import time
import bentoml


@bentoml.service(workers=1)
class Bench:
    @bentoml.api
    def trivial(self, text: str) -> str:
        return text

    @bentoml.api
    def slow(self, text: str) -> str:
        time.sleep(0.05)
        return text
"""


def log(message: str) -> None:
    sys.stderr.write(f"[bench_serving] {message}\n")
    sys.stderr.flush()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def old_server_source() -> str:
    for relative in (OLD_TEMPLATE, OLD_TEMPLATE_DOCKER):
        path = REPO_ROOT / relative
        if path.is_file() and "deployer-local" in relative:
            return path.read_text()
    return subprocess.run(
        ["git", "-C", str(REPO_ROOT), "show", f"{OLD_COMMIT}:{OLD_TEMPLATE}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


class Server:
    """A server process and how to call it."""

    def __init__(
        self,
        name: str,
        command: list[str],
        cwd: Path,
        port: int,
        paths: dict[str, str],
        headers: dict[str, str],
        ready_path: str,
        env: dict[str, str] | None = None,
    ):
        self.name = name
        self.port = port
        self.paths = paths
        self.headers = headers
        self.log_path = cwd / f"{name}.log"
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                command,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        self.wait(ready_path)

    def wait(self, path: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                status, _ = one_request(self.port, self.request("GET", path, b""))
                if status == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not become ready")

    def request(
        self, method: str, path: str, body: bytes, extra: dict[str, str] | None = None
    ) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines += [f"{k}: {v}" for k, v in {**self.headers, **(extra or {})}.items()]
        if method == "POST":
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, 15)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()


def _response_end(buffer: bytes) -> int | None:
    """Where the first complete response in `buffer` ends (Content-Length or chunked)."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = buffer[:head_end].lower()
    start = head_end + 4
    index = head.find(b"content-length:")
    if index >= 0:
        length = int(
            head[index + 15 : head.find(b"\r\n", index) if head.find(b"\r\n", index) > 0 else None]
        )
        return start + length if len(buffer) >= start + length else None
    if b"chunked" in head:
        end = buffer.find(b"\r\n0\r\n\r\n", start - 2)
        return end + 7 if end >= 0 else None
    return None


def one_request(port: int, request: bytes, timeout: float = 10.0) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        buffer = b""
        while _response_end(buffer) is None:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buffer += chunk
        return int(buffer.split(b" ", 2)[1]), buffer


def load(port: int, request: bytes, concurrency: int, seconds: float) -> dict[str, float]:
    """Keep-alive load: `concurrency` connections, each sending the next request on an answer."""
    selector = selectors.DefaultSelector()
    latencies: list[float] = []
    errors = 0
    conns = []
    for _ in range(concurrency):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        state = {"sock": sock, "buffer": b"", "sent": 0.0}
        conns.append(state)
        selector.register(sock, selectors.EVENT_READ, state)
    started = time.perf_counter()
    stop_at = started + seconds
    for state in conns:
        state["sent"] = time.perf_counter()
        state["sock"].sendall(request)
    active = len(conns)
    while active:
        for key, _ in selector.select(timeout=5):
            state = key.data
            chunk = state["sock"].recv(65536)
            if not chunk:
                errors += 1
                selector.unregister(state["sock"])
                active -= 1
                continue
            state["buffer"] += chunk
            end = _response_end(state["buffer"])
            if end is None:
                continue
            now = time.perf_counter()
            if not state["buffer"].startswith(b"HTTP/1.1 200"):
                errors += 1
            latencies.append(now - state["sent"])
            state["buffer"] = state["buffer"][end:]
            if now < stop_at:
                state["sent"] = now
                state["sock"].sendall(request)
            else:
                selector.unregister(state["sock"])
                active -= 1
    took = time.perf_counter() - started
    for state in conns:
        state["sock"].close()
    latencies.sort()
    return {
        "rps": len(latencies) / took,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "errors": errors,
    }


def first_item(port: int, request: bytes, runs: int = 50) -> float | None:
    """Median milliseconds from sending a streaming request to reading its first item."""
    times = []
    for _ in range(runs):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            start = time.perf_counter()
            sock.sendall(request)
            buffer = b""
            while b'"item"' not in buffer:
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                buffer += chunk
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def burst(port: int, request: bytes, count: int = 32) -> dict[str, float]:
    """`count` new connections at once, one request each: failures and the slowest answer."""
    socks = []
    failures = 0
    started = time.perf_counter()
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            sock.connect(("127.0.0.1", port))
        socks.append(sock)
    slowest = 0.0
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_WRITE, {"buffer": b"", "sent": False})
    pending = len(socks)
    deadline = time.monotonic() + 10
    while pending and time.monotonic() < deadline:
        for key, _events in selector.select(timeout=1):
            sock, state = key.fileobj, key.data
            try:
                if not state["sent"]:
                    sock.sendall(request)
                    state["sent"] = True
                    selector.modify(sock, selectors.EVENT_READ, state)
                    continue
                chunk = sock.recv(65536)
            except OSError:
                failures += 1
                selector.unregister(sock)
                pending -= 1
                continue
            if not chunk:
                failures += 1
                selector.unregister(sock)
                pending -= 1
                continue
            state["buffer"] += chunk
            if _response_end(state["buffer"]) is not None:
                if not state["buffer"].startswith(b"HTTP/1.1 200"):
                    failures += 1
                slowest = max(slowest, time.perf_counter() - started)
                selector.unregister(sock)
                pending -= 1
    failures += pending
    for sock in socks:
        sock.close()
    return {"failures": failures, "slowest_ms": slowest * 1000}


@contextlib.contextmanager
def servers(root: Path, function: str, skip_bentoml: bool) -> Iterator[list[Server]]:
    """Every available server, serving `function` ("trivial" or "slow")."""
    started: list[Server] = []
    python = sys.executable
    try:
        work = root / f"new-{function}"
        work.mkdir()
        (work / "solution.py").write_text(SOLUTION)
        install_serving_runtime(work)
        (work / "deployer_entry.json").write_text(
            json.dumps({"entrypoint": f"solution:{function}"})
        )
        port = free_port()
        started.append(
            Server(
                "runtime",
                [python, "-m", "deployer_runtime", "serve", "--port", str(port)],
                work,
                port,
                {"run": "/run", "stream": "/stream"},
                {"Authorization": f"Bearer {TOKEN}"},
                "/readyz",
                env={"DEPLOYER_RUNTIME_TOKEN": TOKEN},
            )
        )
        old = root / f"old-{function}"
        old.mkdir()
        (old / "solution.py").write_text(SOLUTION)
        source = string.Template(old_server_source()).safe_substitute(
            deployer_entrypoint=f"solution:{function}", deployer_calling_convention="kwargs"
        )
        (old / "deployer_server.py").write_text(source)
        port = free_port()
        started.append(
            Server(
                "old",
                [python, "deployer_server.py", "--port", str(port)],
                old,
                port,
                {"run": "/run"},
                {},
                "/health",
            )
        )
        if importlib.util.find_spec("uvicorn") and importlib.util.find_spec("starlette"):
            app = root / f"uvicorn-{function}"
            app.mkdir()
            (app / "bench_app.py").write_text(STARLETTE_APP)
            port = free_port()
            started.append(_uvicorn(app, port, function))
        else:
            log("uvicorn/starlette not installed: skipped")
        executable = Path(python).parent / "bentoml"
        if not skip_bentoml and executable.exists():
            bento = root / f"bento-{function}"
            bento.mkdir()
            (bento / "service.py").write_text(BENTO_SERVICE)
            port = free_port()
            log("starting bentoml serve (slow to start)")
            started.append(
                Server(
                    "bentoml",
                    [str(executable), "serve", "service:Bench", "--port", str(port)],
                    bento,
                    port,
                    {"run": f"/{function}"},
                    {},
                    "/readyz",
                )
            )
        elif not skip_bentoml:
            log("bentoml not installed: skipped")
        yield started
    finally:
        for server in started:
            server.stop()


def _uvicorn(app: Path, port: int, function: str) -> Server:
    server = Server.__new__(Server)
    server.name = "uvicorn"
    server.port = port
    server.paths = {"run": f"/{function}", "stream": "/stream"}
    server.headers = {}
    server.log_path = app / "uvicorn.log"
    with server.log_path.open("wb") as out:
        server.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench_app:app",
                "--port",
                str(port),
                "--workers",
                "1",
                "--log-level",
                "warning",
            ],
            cwd=app,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            status, _ = one_request(port, server.request("POST", f"/{function}", b'{"text":"x"}'))
            if status == 200:
                return server
        time.sleep(0.2)
    raise RuntimeError("uvicorn did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-bentoml", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    body = b'{"text":"hello"}'
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        root = Path(tmp)
        for function, levels in (("trivial", (1, 8, 32)), ("slow", (8,))):
            with servers(root, function, args.skip_bentoml) as running:
                for server in running:
                    row = results.setdefault(server.name, {})
                    request = server.request("POST", server.paths["run"], body)
                    load(server.port, request, 4, 0.5)  # warm-up
                    for level in levels:
                        log(f"{server.name} {function} c={level}")
                        row[f"{function}_c{level}"] = load(
                            server.port, request, level, args.seconds
                        )
                    if function == "trivial":
                        row["burst32"] = burst(server.port, request)
                        if "stream" in server.paths:
                            stream_request = server.request(
                                "POST",
                                server.paths["stream"],
                                body,
                                {"Accept": "application/x-ndjson"},
                            )
                            row["first_item_ms"] = first_item(server.port, stream_request)
    if args.json:
        print(
            json.dumps(
                {"cpus": os.cpu_count(), "seconds": args.seconds, "results": results}, indent=2
            )
        )
        return 0
    print(
        f"serving benchmark: {os.cpu_count()} CPUs, {args.seconds:g}s per measurement, "
        "keep-alive raw sockets"
    )
    columns = ["trivial_c1", "trivial_c8", "trivial_c32", "slow_c8"]
    print(f"{'server':<10}" + "".join(f"{c + ' req/s  p50  p99':>32}" for c in columns))
    for name, row in results.items():
        cells = []
        for column in columns:
            m = row.get(column)
            cells.append(
                f"{m['rps']:>12.0f} {m['p50_ms']:>7.2f}ms {m['p99_ms']:>7.2f}ms"
                if m
                else f"{'-':>32}"
            )
        print(f"{name:<10}" + "".join(f"{c:>32}" for c in cells))
    old = results.get("old", {})
    print("\nratios against the old server (req/s: higher is better; p99: lower is better)")
    for name, row in results.items():
        if name == "old":
            continue
        parts = []
        for column in columns:
            if column in row and column in old:
                parts.append(
                    f"{column}: {row[column]['rps'] / old[column]['rps']:.2f}x req/s, "
                    f"{row[column]['p99_ms'] / old[column]['p99_ms']:.2f}x p99"
                )
        print(f"  {name}: " + "; ".join(parts))
    print("\nburst of 32 new connections; time to first streamed item")
    for name, row in results.items():
        b = row.get("burst32", {})
        first = row.get("first_item_ms")
        first_text = f"{first:.2f} ms" if first else "n/a (no streaming)"
        print(
            f"  {name:<10} failures {b.get('failures', '-')}/32, "
            f"slowest {b.get('slowest_ms', 0):.1f} ms; first item {first_text}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
