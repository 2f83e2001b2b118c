"""The $name runner: serves the adapted workspace with deployer's one serving runtime.

As generated it works on this machine: core's serving runtime (`python -m deployer_runtime
serve`, copied into the workspace by `install_serving_runtime`) runs in the solution's own
virtual environment, behind a random bearer token kept 0600 beside the state, and every entry
kind (functions, classes, graphs, web apps) is served, with /readyz, /schema and streaming.
To run on $name, keep the runtime (it is what runs inside your platform's container or VM:
ship the workspace there and start the same command, listening on 0.0.0.0 and given the token
in $$DEPLOYER_RUNTIME_TOKEN) and change how the server is started and reached.

Import the platform SDK inside methods (or only in sdk.py), never at module level. Everything
from core comes from `deployer.plugin`.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from deployer.plugin import (
    DeployFailedError,
    EnvelopeClient,
    ProcessServerRunner,
    RunnerContext,
    default_python,
    ensure_venv,
    install_serving_runtime,
    log_excerpt,
    log_size,
    venv_python,
    wait_until_ready,
)

SPEC_FILE = "deployer_entry.json"
PORT_FILE = "server.port"
TOKEN_FILE = "server.token"
CLIENT_GRACE = 5.0  # the runtime answers a run past its timeout itself (a 504 envelope)


class ${class_name}Runner(ProcessServerRunner):
    """Brings an adapted workspace up and calls it.

    `self.context` says what to run (adapted_path, run_interface, options, env, timeouts);
    `self.state` is saved after deploy/stop/start so another process can reattach.
    """

    def __init__(self, context: RunnerContext, state: dict[str, Any] | None = None) -> None:
        super().__init__(context, state)
        self.client = EnvelopeClient(
            lambda: self.endpoint,
            name=context.name,
            timeout=context.run_timeout + CLIENT_GRACE,
            headers=self._headers(),
        )

    @property
    def token_file(self) -> Path:
        return self.runtime_dir / TOKEN_FILE

    @property
    def port_file(self) -> Path:
        return self.runtime_dir / PORT_FILE

    def _headers(self) -> dict[str, str]:
        try:
            token = self.token_file.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return {}
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _new_token(self) -> None:
        """A fresh random token for this deployment, created 0600."""
        self.token_file.unlink(missing_ok=True)
        descriptor = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
        self.client.close()
        self.client.headers = self._headers()

    def choose_port(self) -> int:
        return 0  # the runtime binds a free port itself and writes it to the port file

    # -- the Runner contract -----------------------------------------------------------------

    def deploy(self) -> None:
        self.stop()
        workspace = self.context.adapted_path
        if not workspace.is_dir():
            raise DeployFailedError(f"the adapted workspace {workspace} is missing")
        install_serving_runtime(workspace)
        spec = self.context.run_interface.model_dump(mode="json")
        (workspace / SPEC_FILE).write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
        venv = ensure_venv(workspace, default_python(None), self.runtime_dir / "install.log")
        self.state["venv"] = str(venv)
        self._new_token()
        self.serve()

    def start(self) -> None:
        if self.is_healthy():
            return
        self.deploy()

    def close(self) -> None:
        self.client.close()

    def is_healthy(self) -> bool:
        try:
            if not self.process_alive():
                return False
            return self.client.get("/readyz", timeout=5.0).status_code == 200
        except Exception:
            return False

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        reason = self.unavailable_reason()
        if reason:
            return self.not_running(reason)
        return self.client.post_envelope("/run", inputs)

    def stream(self, inputs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        reason = self.unavailable_reason()
        if reason:
            yield self.not_running(reason)
            return
        yield from self.client.stream_envelopes("/stream", inputs)

    # -- starting the server -----------------------------------------------------------------

    def start_server(self, port: int) -> None:
        venv = Path(self.state["venv"])
        self.port_file.unlink(missing_ok=True)
        offset = log_size(self.server_log)
        command = [
            str(venv_python(venv)), "-m", "deployer_runtime", "serve", "--port", str(port),
            "--port-file", str(self.port_file), "--token-file", str(self.token_file),
            "--fail-fast-load", "--run-timeout", f"{self.context.run_timeout:g}",
        ]  # fmt: skip
        proc = self.launch(
            command, cwd=self.context.adapted_path, env=self.serving_env(venv), venv=str(venv)
        )

        def ready() -> bool:
            self.state["port"] = int(self.port_file.read_text().strip())
            return self.client.get("/readyz", timeout=2.0).status_code == 200

        def on_exit(code: int) -> DeployFailedError | None:
            return DeployFailedError(
                f"the server of {self.context.name!r} exited with code {code}"
                + log_excerpt(self.server_log, offset),
                hint=f"full log: {self.server_log}",
            )

        try:
            wait_until_ready(
                proc,
                ready,
                what=f"the server of {self.context.name!r}",
                log_path=self.server_log,
                log_offset=offset,
                timeout=self.context.startup_timeout,
                on_exit=on_exit,
            )
        except BaseException:
            self.stop()
            raise
