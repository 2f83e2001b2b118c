"""target=dev: `langgraph dev --no-browser --no-reload` on 127.0.0.1, in its own process.

The server runs in the adapted workspace (its `.langgraph_api/` files land there, never in
the user's original). Its identity, the port-race retry and the logs are core's
ProcessServerRunner, so another process (the next CLI call) can call, stop or start it; calls
go through langgraph_sdk (common.py). A solution with dependencies gets an overlay
environment (overlay.py) over the interpreter that runs `langgraph dev`.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from deployer.plugin import (
    DeployFailedError,
    PortRaceError,
    ProcessServerRunner,
    StrategyUnavailableError,
    pid_start_time,
    read_tail,
    terminate,
)
from deployer_langgraph import overlay
from deployer_langgraph.targets.common import LangGraphRunner, clean

INSTALL_LOG = "install.log"
STOP_GRACE = 10.0  # longer than core's: lets the dev server flush `.langgraph_api/`
LOG_LINES_ON_FAILURE = 25
PYTHON_HINT = "pass --option python=/path/to/python with langgraph-cli[inmem] installed"
_ADDRESS_IN_USE = re.compile(r"address already in use|Errno 98", re.IGNORECASE)
_KEY_LINES = (
    re.compile(r"(GraphLoadError: .*)"),
    re.compile(r"^(Error: .*)$", re.MULTILINE),
    re.compile(r"^((?:[A-Za-z_.]+)?(?:Error|Exception): .*)$", re.MULTILINE),
)


class LangGraphDevRunner(LangGraphRunner, ProcessServerRunner):
    """Runner of `langgraph` with target=dev (and target=auto without a server URL)."""

    target_name = "dev"
    local_server = True
    server_label = "langgraph dev"

    @property
    def log_path(self) -> Path:
        return self.server_log

    # -- lifecycle ---------------------------------------------------------------------------

    def deploy(self) -> None:
        self.stop()
        graph_id = self.prepare_fresh()
        self._start(graph_id, reuse_overlay=False)

    def start(self) -> None:
        graph_id = self.recorded_graph()
        if self.is_healthy():
            return
        self.stop()  # a hung or dead server: clear what is left of it first
        self._start(graph_id, reuse_overlay=True)

    def stop(self) -> None:
        """Stop the server's process group, with a longer grace than core's default (threads
        survive a restart), then forget it."""
        pid = self.state.get("pid")
        if self.process_alive():  # core's stop below then finds it gone
            own = self._proc if self._proc is not None and self._proc.pid == pid else None
            terminate(pid, pid, self.state.get("pid_start_time"), own, grace=STOP_GRACE)
        super().stop()
        self.state["running"] = False

    # -- starting the server -----------------------------------------------------------------

    def _start(self, graph_id: str, *, reuse_overlay: bool) -> None:
        launcher = self._launcher()
        venv = Path(self.state.get("venv") or "")
        if not (reuse_overlay and self.state.get("venv") and overlay.is_usable(venv)):
            made = overlay.ensure_overlay(
                self.context.adapted_path, launcher, self.runtime_dir / INSTALL_LOG
            )
            venv = made if made is not None else Path()
        self._plan = (graph_id, launcher, venv if venv != Path() else None)
        self.serve()

    def start_server(self, port: int) -> None:
        ctx = self.context
        graph_id, launcher, venv = self._plan
        python = str(overlay.overlay_python(venv)) if venv is not None else launcher
        args = command(python, port, allow_blocking=bool(ctx.options.get("allow_blocking")))
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.server_log.open("ab") as log:
            log.write(f"$ {' '.join(args)}  (in {ctx.adapted_path})\n".encode())
        try:
            proc = self.launch(
                args,
                cwd=ctx.adapted_path,
                env=self.serving_env(venv),
                target="dev",
                running=True,
                port=port,
                python=launcher,
                venv=str(venv) if venv is not None else None,
                graph_id=graph_id,
                kind=None,
            )
        except DeployFailedError as exc:
            exc.hint = PYTHON_HINT
            raise
        try:
            wait_ready(
                proc,
                name=ctx.name,
                probe=self._probe,
                log_path=self.log_path,
                log_offset=log_offset,
                timeout=ctx.startup_timeout,
            )
            self.state["kind"] = self.learn_kind(graph_id, "langgraph dev", None)
        except BaseException:
            self.stop()
            raise

    def _probe(self) -> bool:
        response = self.sdk_client().http.client.get("/ok", timeout=2.0)
        return response.status_code == 200

    def _launcher(self) -> str:
        """The interpreter that runs `langgraph dev`: the option, else deployer's own."""
        option = str(self.context.options.get("python") or "")
        if not option:
            return sys.executable
        import shutil

        found = option if Path(option).is_file() else shutil.which(option)
        if not found:
            raise StrategyUnavailableError(
                f"the interpreter {option!r} for langgraph dev was not found", hint=PYTHON_HINT
            )
        return found

    def serving_env(self, venv: Path | None = None) -> dict[str, str]:
        env = super().serving_env(venv)
        env.update(
            LANGGRAPH_CLI_NO_ANALYTICS="1",  # no usage reporting from the CLI
            LOG_COLOR="false",  # plain log lines in server.log
        )
        return env


def command(python: str, port: int, *, allow_blocking: bool) -> list[str]:
    """`langgraph dev` as a module of the launcher interpreter: no reload, no browser."""
    args = [python, "-m", "langgraph_cli", "dev", "--no-browser", "--no-reload"]
    args += ["--host", "127.0.0.1", "--port", str(port), "--config", "langgraph.json"]
    if allow_blocking:
        args.append("--allow-blocking")
    return args


def wait_ready(
    proc: subprocess.Popen[bytes],
    *,
    name: str,
    probe: Callable[[], bool],
    log_path: Path,
    log_offset: int,
    timeout: float,
) -> None:
    """Block until `probe()` (GET /ok through the SDK's client) says ready. On failure the
    process group is stopped and DeployFailedError carries the server's own reason and the
    last lines it logged; a port taken under it is a PortRaceError (the runner retries)."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        code = proc.poll()
        if code is not None:
            terminate(proc.pid, proc.pid, None, proc, grace=1.0)  # children it may have left
            text = clean(read_tail(log_path, None, start=log_offset))
            if _ADDRESS_IN_USE.search(text):
                raise PortRaceError(f"the port of {name!r} was taken before langgraph dev bound it")
            raise DeployFailedError(
                f"langgraph dev for {name!r} exited with code {code} before becoming ready"
                + _reason(text)
                + _excerpt(text),
                hint=f"full log: {log_path}",
            )
        with contextlib.suppress(Exception):  # not listening yet
            if probe():
                return
        if time.monotonic() >= deadline:
            terminate(proc.pid, proc.pid, pid_start_time(proc.pid), proc, grace=STOP_GRACE)
            raise DeployFailedError(
                f"langgraph dev for {name!r} did not become ready within {timeout:g}s"
                + _excerpt(clean(read_tail(log_path, None, start=log_offset))),
                hint=f"raise the startup timeout if the graph loads slowly; log: {log_path}",
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


def _reason(text: str) -> str:
    """The line that says what went wrong (a graph that failed to load, a usage error)."""
    for pattern in _KEY_LINES:
        found = pattern.findall(text)
        if found:
            return f": {found[-1].strip()}"
    return ""


def _excerpt(text: str) -> str:
    kept = [line for line in text.rstrip().splitlines() if line.strip()]
    tail = "\n".join(kept[-LOG_LINES_ON_FAILURE:])
    return f"; last log lines:\n{tail}" if tail else ""
