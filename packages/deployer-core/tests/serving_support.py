"""Starting the real serving runtime as a subprocess, in a workspace from install_serving_runtime.

The runtime runs with this interpreter (whose environment has the solution's packages: cog,
fastapi, flask, ...), on 127.0.0.1, with a token file of mode 0600.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from deployer.runtime.serving_install import install_serving_runtime

TOKEN = "test-token-4f1c9a"


class Served:
    """A running runtime: its port, an authorised httpx client and its log."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, workspace: Path, log: Path):
        self.proc = proc
        self.port = port
        self.workspace = workspace
        self.log_path = log
        self.url = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
            trust_env=False,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def run(self, inputs: Any, **kwargs: Any) -> httpx.Response:
        return self.client.post("/run", json=inputs, **kwargs)

    def wait_ready(self, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = self.client.get("/readyz").json()
            if answer["status"] != "loading":
                return answer
            assert self.proc.poll() is None, self.log()
            time.sleep(0.05)
        raise AssertionError(f"not ready in {timeout}s: {self.log()}")

    def raw(self, data: bytes, *, timeout: float = 5.0, read_all: bool = True) -> bytes:
        """Send raw bytes on a new connection; everything the server answers until it closes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(data)
            chunks = []
            try:
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    if not read_all:
                        break
            except TimeoutError:
                pass
            return b"".join(chunks)

    def request_bytes(self, method: str, path: str, body: bytes = b"", **headers: str) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines.append(f"Authorization: Bearer {TOKEN}")
        lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def stop(self) -> int:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def make_workspace(root: Path, files: dict[str, str], spec: dict[str, Any] | None) -> Path:
    workspace = root / "workspace"
    workspace.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = workspace / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    install_serving_runtime(workspace)
    if spec is not None:
        (workspace / "deployer_entry.json").write_text(json.dumps(spec))
    return workspace


def token_file(root: Path) -> Path:
    path = root / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


def start(
    root: Path,
    files: dict[str, str],
    spec: dict[str, Any] | None,
    *args: str,
    wait: bool = True,
    env: dict[str, str] | None = None,
) -> Served:
    workspace = make_workspace(root, files, spec)
    port_file = root / "server.port"
    port_file.unlink(missing_ok=True)
    log = root / "server.log"
    command = [
        sys.executable,
        "-m",
        "deployer_runtime",
        "serve",
        "--port",
        "0",
        "--port-file",
        str(port_file),
        "--token-file",
        str(token_file(root)),
        *args,
    ]
    environment = {k: v for k, v in os.environ.items() if k != "DEPLOYER_RUNTIME_TOKEN"}
    environment.update(env or {})
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=workspace, stdout=out, stderr=subprocess.STDOUT, env=environment
        )
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"no port file; log:\n{log.read_text()}")
        time.sleep(0.02)
    served = Served(proc, int(port_file.read_text()), workspace, log)
    if wait:
        served.wait_ready()
    return served


@contextmanager
def serving(
    root: Path, files: dict[str, str], spec: dict[str, Any] | None, *args: str, **kwargs: Any
) -> Iterator[Served]:
    served = start(root, files, spec, *args, **kwargs)
    try:
        yield served
    finally:
        served.stop()


def inspect_entry(
    root: Path, files: dict[str, str], spec: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    workspace = make_workspace(root, files, spec)
    return subprocess.run(
        [sys.executable, "-m", "deployer_runtime", "inspect"],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ndjson(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


# A class whose setup() waits for a file named `go` in its workspace: loading until a test
# says otherwise.
SLOW_LOAD_FILES = {
    "slowload.py": """
    import pathlib, time

    class Model:
        def setup(self):
            while not pathlib.Path("go").exists():
                time.sleep(0.02)
            self.ready = True

        def predict(self, x: int) -> int:
            return x + 1
    """,
}
