"""mode=process: the adapted workspace served by core's serving runtime in its own process.

The runtime (`python -m deployer_runtime serve`, copied into the workspace at every deploy and
start) runs in the solution's virtual environment and its own session, so it outlives the
caller; its pid, start time and port are the runner state, and the next CLI call reattaches to
it. Every request carries the deployment's bearer token, generated at deploy and kept 0600 in
the runtime directory (never in the store). What every local server shares (identity, stop,
port-race retry, logs) is core's ProcessServerRunner; calls go through core's EnvelopeClient.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployer.plugin import (
    SERVED_PATHS,
    Connection,
    DeployFailedError,
    EnvelopeClient,
    ProcessServerRunner,
    Readiness,
    RunnerContext,
    check_port_free,
    failure,
    log_excerpt,
    log_size,
    missing_module_hint,
    port_in_use_error,
    probe,
    read_tail,
    root_cause,
    wait_until_ready,
)

if TYPE_CHECKING:
    import httpx

SPEC_FILE = "deployer_entry.json"
INSTALL_LOG = "install.log"
PORT_FILE = "server.port"
TOKEN_FILE = "server.token"
HEALTH_TIMEOUT = 5.0
# The server answers a run past the timeout itself (504 envelope); the client waits a little
# longer so that answer, not a client-side timeout, is what the caller sees.
CLIENT_GRACE = 5.0
EXIT_USAGE = 2
EXIT_IMPORT_FAILED = 3
EXIT_LOAD_FAILED = 4
EXIT_BIND_FAILED = 97
EXIT_PORT_IN_USE = 98


class LocalProcessRunner(ProcessServerRunner):
    """Runner of `local` with mode=process (the default)."""

    def __init__(self, context: RunnerContext, state: dict[str, Any] | None = None) -> None:
        super().__init__(context, state)
        self.client = EnvelopeClient(
            lambda: self.endpoint,
            name=context.name,
            timeout=context.run_timeout + CLIENT_GRACE,
            headers=self._auth_headers(),
        )

    @property
    def install_log(self) -> Path:
        return self.runtime_dir / INSTALL_LOG

    @property
    def port_file(self) -> Path:
        return self.runtime_dir / PORT_FILE

    @property
    def token_file(self) -> Path:
        return self.runtime_dir / TOKEN_FILE

    def _auth_headers(self) -> dict[str, str]:
        try:
            token = self.token_file.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return {}
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _new_token(self) -> None:
        """A fresh random token for this deployment, written 0600 (created so, never widened)."""
        self.token_file.unlink(missing_ok=True)
        descriptor = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
        self.client.close()
        self.client.headers = self._auth_headers()

    def choose_port(self) -> int:
        return 0  # the server binds a free port itself and reports it: no race to lose

    def deploy(self) -> None:
        self.stop()
        self._prepare(reuse_venv=False)
        self._new_token()
        self.serve()

    def start(self) -> None:
        if self.is_healthy():
            return
        self.stop()  # a hung or dead server: clear what is left of it first
        self._prepare(reuse_venv=True)
        if not self._auth_headers():
            self._new_token()
        self.serve()

    def stop(self) -> None:
        venv = self.state.get("venv")
        super().stop()
        self.state.update(mode="process", venv=venv)
        self.port_file.unlink(missing_ok=True)

    def close(self) -> None:
        self.client.close()

    def is_healthy(self) -> bool:
        try:
            if not self.process_alive():
                return False
            return self.client.get("/health", timeout=HEALTH_TIMEOUT).status_code == 200
        except Exception:
            return False

    def readiness(self) -> Readiness:
        if not self.process_alive():
            return Readiness(state="stopped")
        return self.client.readiness(timeout=HEALTH_TIMEOUT)

    def schema(self) -> dict[str, Any] | None:
        if self.process_alive():
            published = self.client.schema(timeout=HEALTH_TIMEOUT)
            if published is not None:
                return published
        return super().schema()

    def connection(self) -> Connection:
        return Connection(url=self.endpoint, headers=self._auth_headers(), paths=SERVED_PATHS)

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(inputs, dict):
            return failure(f"inputs must be a JSON object, got {type(inputs).__name__}")
        reason = self.stopped_reason()
        if reason:
            return self.not_running(reason)
        answer = self.client.post_envelope("/run", inputs, on_transport_error=self._unreachable)
        if answer.get("status") == "error" and not self.process_alive():
            # an error from whatever holds the port now: say the server is gone instead
            return self.not_running(f"its server process {self.state['pid']} has exited")
        return answer

    def stream(self, inputs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Items of a generator entry point as the server sends them (newline-delimited JSON:
        `{"status": "item", ...}` each, then the final envelope)."""
        reason = self.stopped_reason()
        if reason:
            yield self.not_running(reason)
            return
        for item in self.client.stream_envelopes("/stream", inputs):
            if item.get("status") == "error" and not self.process_alive():
                yield self.not_running(f"its server process {self.state['pid']} has exited")
                return
            yield item

    def _unreachable(self, exc: httpx.HTTPError) -> dict[str, Any]:
        if not self.process_alive():
            return self.not_running("its server process exited during the call")
        return self.not_running(f"cannot reach 127.0.0.1:{self.port}: {type(exc).__name__}")

    # -- starting the server -----------------------------------------------------------------

    def _prepare(self, *, reuse_venv: bool) -> None:
        # imported here, not at the top: `deployer run` loads this module on every call and
        # needs none of what builds environments (packaging, the manifest readers)
        from deployer.plugin import default_python, ensure_venv, install_serving_runtime, is_usable

        workspace = self.context.adapted_path
        check_port_free(int(self.context.options.get("port") or 0))
        if not workspace.is_dir():
            raise DeployFailedError(
                f"the adapted workspace {workspace} is missing",
                hint="deploy again so the workspace is adapted afresh",
            )
        install_serving_runtime(workspace)
        spec = self.context.run_interface.model_dump(mode="json")
        (workspace / SPEC_FILE).write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
        venv = Path(self.state.get("venv") or "")
        if not (reuse_venv and self.state.get("venv") and is_usable(venv)):
            python = default_python(self.context.options.get("python") or None)
            venv = ensure_venv(workspace, python, self.install_log)
        self.state["venv"] = str(venv)

    def start_server(self, port: int) -> None:
        from deployer.plugin import venv_python

        ctx = self.context
        venv = Path(self.state["venv"])
        self.port_file.unlink(missing_ok=True)
        log_offset = log_size(self.server_log)
        command = [
            str(venv_python(venv)), "-m", "deployer_runtime", "serve",
            "--port", str(port), "--port-file", str(self.port_file),
            "--token-file", str(self.token_file), "--fail-fast-load",
            "--run-timeout", f"{ctx.run_timeout:g}",
        ]  # fmt: skip
        proc = self.launch(
            command,
            cwd=ctx.adapted_path,
            env=self.serving_env(venv),
            mode="process",
            port=None,
            venv=str(venv),
        )
        try:
            self.state["port"] = wait_ready(
                proc,
                name=ctx.name,
                headers=self.client.headers,
                port_file=self.port_file,
                requested_port=port,
                log_path=self.server_log,
                log_offset=log_offset,
                timeout=ctx.startup_timeout,
                workspace=ctx.adapted_path,
            )
        except BaseException:
            self.stop()
            raise


def wait_ready(
    proc: subprocess.Popen[bytes],
    *,
    name: str,
    port_file: Path,
    requested_port: int,
    log_path: Path,
    log_offset: int,
    timeout: float,
    headers: dict[str, str] | None = None,
    workspace: Path | None = None,
) -> int:
    """Block until the server wrote its port and /readyz says ready (it answers 503 while
    the entry point loads); return the port. Its exit codes say why it stopped: 98 the port
    is taken, 3 the entry point did not import, 4 it imported but could not be loaded."""
    found: list[int] = []

    def ready() -> bool:
        written = _read_port(port_file)
        if written is None:
            return False
        answer = probe(f"http://127.0.0.1:{written}/readyz", headers=headers, timeout=2.0)
        if answer.status_code != 200:
            return False
        found.append(written)
        return True

    def on_exit(code: int) -> DeployFailedError | None:
        if code == EXIT_PORT_IN_USE:
            return port_in_use_error(requested_port)
        if code in (EXIT_IMPORT_FAILED, EXIT_LOAD_FAILED):
            what = "import" if code == EXIT_IMPORT_FAILED else "load"
            cause = root_cause(read_tail(log_path, 200, start=log_offset))
            from deployer.plugin import dependency_manifest

            declared = dependency_manifest(workspace) if workspace is not None else None
            hint = missing_module_hint(cause, declared)
            return DeployFailedError(
                f"the server of {name!r} could not {what} the entry point"
                + (f": {cause}" if cause else "")
                + log_excerpt(log_path, log_offset),
                hint=f"{hint}; full log: {log_path}" if hint else f"full log: {log_path}",
            )
        return None

    wait_until_ready(
        proc,
        ready,
        what=f"the server of {name!r}",
        log_path=log_path,
        log_offset=log_offset,
        timeout=timeout,
        on_exit=on_exit,
    )
    return found[-1]


def _read_port(port_file: Path) -> int | None:
    try:
        return int(port_file.read_text().strip())
    except (OSError, ValueError):
        return None
