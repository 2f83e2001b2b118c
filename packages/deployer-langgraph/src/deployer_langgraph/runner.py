"""LangGraphRunner: serves the adapted solution on a LangGraph server and calls it.

- target `dev`: `langgraph dev --no-browser --no-reload` in its own process, on 127.0.0.1, in
  the adapted workspace; its pid, start time and port are the state, so another process (the
  next CLI call) can call, stop or start it.
- target `cloud`: an existing LangGraph Platform deployment or self-hosted server; deployer
  does not build there. Deploying checks that the server answers and serves the graph, and
  says how to ship the adapted copy when it does not.

Either way every call goes through langgraph_sdk (imported inside methods only): `runs.wait`
for run(), `runs.stream` with stream_mode="updates" for stream(); stateless unless a thread is
named by the `thread_id` option or a `thread` key in the input.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from deployer.errors import DeployFailedError, StrategyUnavailableError
from deployer.runtime.runner import Runner, RunnerContext, RunnerStatus, failure, success
from deployer_langgraph import devserver, overlay, settings, workspace

if TYPE_CHECKING:
    from langgraph_sdk.client import SyncLangGraphClient

SERVER_LOG = "server.log"
INSTALL_LOG = "install.log"
CLOUD_LOG = "cloud.log"
HEALTH_TIMEOUT = 5.0
PORT_ATTEMPTS = 3


class LangGraphRunner(Runner):
    """Runner of the `langgraph` strategy; see the module docstring for the two targets."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"logs", "restart", "stream", "threads"})

    def __init__(self, context: RunnerContext, state: dict[str, Any] | None = None) -> None:
        super().__init__(context, state)
        self._proc: subprocess.Popen[bytes] | None = None
        self._client: SyncLangGraphClient | None = None
        self._client_url: str | None = None
        self._lock = threading.Lock()

    # -- what and where ----------------------------------------------------------------------

    @property
    def target(self) -> str:
        """Fixed at deploy time, so a reattached runner never flips with the environment."""
        return str(self.state.get("target") or settings.resolve_target(self.context.options))

    @property
    def provider(self) -> str:
        return f"langgraph-{self.target}"

    @property
    def endpoint(self) -> str | None:
        if self.target == "cloud":
            return self.state.get("url") or settings.cloud_url(self.context.options) or None
        port = self.state.get("port")
        return f"http://127.0.0.1:{port}" if port else None

    @property
    def runtime_dir(self) -> Path:
        self.context.runtime_dir.mkdir(parents=True, exist_ok=True)
        return self.context.runtime_dir

    @property
    def log_path(self) -> Path:
        return self.runtime_dir / (CLOUD_LOG if self.target == "cloud" else SERVER_LOG)

    # -- lifecycle ---------------------------------------------------------------------------

    def deploy(self) -> None:
        self.stop()
        graph_id = workspace.prepare(self.context.adapted_path, self.context.options, fresh=True)
        if self.target == "cloud":
            self._connect_cloud(graph_id)
        else:
            self._start_dev(graph_id, reuse_overlay=False)

    def start(self) -> None:
        graph_id = self.state.get("graph_id") or workspace.prepare(
            self.context.adapted_path, self.context.options
        )
        if self.target == "cloud":
            self._connect_cloud(graph_id)
            return
        if self.is_healthy():
            return
        self.stop()  # a hung or dead server: clear what is left of it first
        self._start_dev(graph_id, reuse_overlay=True)

    def stop(self) -> None:
        """dev: stop the server's process group. cloud: refuse runs until start (the server
        is not ours to stop)."""
        self.close()
        if self.target == "cloud":
            if self.state:
                self.state["running"] = False
            return
        pid = self.state.get("pid")
        own = self._proc if self._proc is not None and self._proc.pid == pid else None
        devserver.terminate(pid, self.state.get("pid_start_time"), own)
        self._proc = None
        if self.state:
            self.state.update(pid=None, pid_start_time=None, port=None, running=False)

    def remove(self) -> None:
        """Stop; a cloud deployment itself is left as it is (deployer did not create it)."""
        self.stop()

    def close(self) -> None:
        """Release the HTTP connections (the deployment keeps running)."""
        with self._lock:
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._client.http.client.close()
            self._client, self._client_url = None, None

    # -- health ------------------------------------------------------------------------------

    def is_healthy(self) -> bool:
        try:
            if self._not_running() is not None:
                return False
            response = self._sdk().http.client.get("/ok", timeout=HEALTH_TIMEOUT)
            return response.status_code == 200
        except Exception:
            return False

    def status(self) -> RunnerStatus:
        if not self.state.get("running"):
            return "stopped"
        return "running" if self.is_healthy() else "failed"

    def logs(self, tail: int | None = None) -> str:
        """dev: the server's output. cloud: what deployer checked and how to ship (the
        platform's own logs: `langgraph deploy logs`)."""
        return devserver.read_tail(self.log_path, tail)

    # -- calls -------------------------------------------------------------------------------

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        prepared = self._prepare_call(inputs)
        if "status" in prepared:
            return prepared
        from deployer_langgraph import client

        result = client.wait(
            self._sdk(),
            prepared["graph_id"],
            prepared["payload"],
            prepared["thread"],
            self.context.run_timeout,
        )
        if result["status"] == "success" and self.state.get("kind") == "function":
            return self._unwrap(result["output"])
        return result

    def stream(self, inputs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        prepared = self._prepare_call(inputs)
        if "status" in prepared:
            yield prepared
            return
        from deployer_langgraph import client

        parts = client.stream(
            self._sdk(),
            prepared["graph_id"],
            prepared["payload"],
            prepared["thread"],
            self.context.run_timeout,
        )
        with contextlib.closing(parts):
            for part in parts:
                if part["status"] == "success" and self.state.get("kind") == "function":
                    updates = part["output"] if isinstance(part["output"], dict) else {}
                    for update in updates.values():
                        yield self._unwrap(update)
                else:
                    yield part

    def _prepare_call(self, inputs: Any) -> dict[str, Any]:
        """The graph, payload and thread of a call, or the error envelope that stops it."""
        if not isinstance(inputs, dict):
            return failure(f"inputs must be a JSON object, got {type(inputs).__name__}")
        problem = self._not_running()
        if problem is not None:
            return failure(problem)
        from deployer_langgraph.client import split_thread

        try:
            rest, thread = split_thread(inputs, str(self.context.options.get("thread_id") or ""))
        except TypeError as exc:
            return failure(str(exc))
        payload = {"input": rest} if self.state.get("kind") == "function" else rest
        return {"graph_id": self.state["graph_id"], "payload": payload, "thread": thread}

    @staticmethod
    def _unwrap(state: Any) -> dict[str, Any]:
        """A wrapped function's result is the `output` of the wrapper's state."""
        if isinstance(state, dict) and "output" in state:
            return success(state["output"])
        return failure(f"the wrapped function's run returned no output: {state!r}"[:500])

    def _not_running(self) -> str | None:
        """Why calls cannot reach the deployment now, or None when they can."""
        name = self.context.name
        how = f"start it with `deployer start {name}`"
        if not self.state.get("running") or not self.state.get("graph_id"):
            return f"deployment {name} is not running (it is stopped); {how}"
        if self.target == "dev":
            pid = self.state.get("pid")
            if not pid or not self.state.get("port"):
                return f"deployment {name} is not running (it is stopped); {how}"
            if not self._process_alive():
                return f"deployment {name} is not running (langgraph dev {pid} has exited); {how}"
        return None

    def _process_alive(self) -> bool:
        pid = self.state.get("pid")
        if self._proc is not None and self._proc.pid == pid and self._proc.poll() is not None:
            return False  # our own child has exited (poll also reaps it)
        return devserver.is_alive(pid, self.state.get("pid_start_time"))

    def _sdk(self) -> SyncLangGraphClient:
        """One client per runner and server URL, so calls reuse keep-alive connections."""
        from deployer_langgraph.client import make_client

        url = self.endpoint
        if url is None:
            raise RuntimeError("the deployment has no server URL")
        with self._lock:
            if self._client is None or self._client_url != url:
                key = None
                if self.target == "cloud" and self._auth() == "api_key":
                    key = settings.api_key(self.context.env, os.environ)
                self._client = make_client(
                    url,
                    key,
                    read_timeout=self.context.run_timeout + 30.0,
                    local=self.target == "dev",
                )
                self._client_url = url
            return self._client

    def _auth(self) -> str:
        return str(self.state.get("auth") or self.context.options.get("auth") or "api_key")

    def _learn_kind(self, graph_id: str, where: str, ship_hint: str | None) -> str:
        """Ask the server which graph it serves under `graph_id`: our wrapper of a plain
        function, or the solution's own graph."""
        from deployer_langgraph.client import WRAPPER_NAME, describe, graph_ids, served_graph

        try:
            assistant = served_graph(self._sdk(), graph_id)
        except Exception as exc:
            raise DeployFailedError(
                f"asking {where} for graph {graph_id!r} failed: {describe(exc)}"
            ) from None
        if assistant is None:
            served = graph_ids(self._sdk())
            listing = f" (it serves {', '.join(served)})" if served else ""
            raise DeployFailedError(
                f"{where} serves no graph {graph_id!r}{listing}", hint=ship_hint
            )
        return "function" if assistant.get("name") == WRAPPER_NAME else "graph"

    # -- dev target --------------------------------------------------------------------------

    def _start_dev(self, graph_id: str, *, reuse_overlay: bool) -> None:
        ctx = self.context
        launcher = self._launcher()
        venv = Path(self.state.get("venv") or "")
        if not (reuse_overlay and self.state.get("venv") and overlay.is_usable(venv)):
            made = overlay.ensure_overlay(
                ctx.adapted_path, launcher, self.runtime_dir / INSTALL_LOG
            )
            venv = made if made is not None else Path()
        has_overlay = venv != Path()
        python = str(overlay.overlay_python(venv)) if has_overlay else launcher
        env = self._dev_env(venv if has_overlay else None)
        fixed = int(ctx.options.get("port") or 0)
        if fixed:
            devserver.check_port_free(fixed)
        for attempt in range(PORT_ATTEMPTS):
            port = fixed or devserver.free_port()
            args = devserver.command(
                python, port, allow_blocking=bool(ctx.options.get("allow_blocking"))
            )
            log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            self._proc = devserver.launch(args, ctx.adapted_path, self.log_path, env)
            self.state = {
                "target": "dev",
                "running": True,
                "pid": self._proc.pid,
                "pid_start_time": devserver.pid_start_time(self._proc.pid),
                "port": port,
                "python": launcher,
                "venv": str(venv) if has_overlay else None,
                "graph_id": graph_id,
                "kind": None,
            }
            try:
                devserver.wait_ready(
                    self._proc,
                    name=ctx.name,
                    probe=self._probe,
                    log_path=self.log_path,
                    log_offset=log_offset,
                    timeout=ctx.startup_timeout,
                )
                self.state["kind"] = self._learn_kind(graph_id, "langgraph dev", None)
                return
            except devserver.AddressInUse:
                self.stop()
                if fixed or attempt == PORT_ATTEMPTS - 1:
                    raise devserver.port_in_use(port) from None
            except BaseException:
                self.stop()
                raise

    def _probe(self) -> bool:
        response = self._sdk().http.client.get("/ok", timeout=2.0)
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
                f"the interpreter {option!r} for langgraph dev was not found",
                hint="pass --option python=/path/to/python with langgraph-cli[inmem] installed",
            )
        return found

    def _dev_env(self, venv: Path | None) -> dict[str, str]:
        env = {**os.environ, **self.context.env}
        env.pop("PYTHONHOME", None)
        env.update(
            LANGGRAPH_CLI_NO_ANALYTICS="1",  # no usage reporting from the CLI
            LOG_COLOR="false",  # plain log lines in server.log
            PYTHONUNBUFFERED="1",
        )
        if venv is not None:
            bin_dir = overlay.overlay_python(venv).parent
            env["VIRTUAL_ENV"] = str(venv)
            env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
        return env

    # -- cloud target ------------------------------------------------------------------------

    def _connect_cloud(self, graph_id: str) -> None:
        """Check the server answers and serves the graph; record it. Nothing is built."""
        ctx = self.context
        url = self.state.get("url") or settings.cloud_url(ctx.options)
        auth = self._auth()
        if not url:
            raise StrategyUnavailableError(
                "target cloud needs the URL of a LangGraph server",
                hint=f"pass --option url=https://... or set {settings.URL_ENV}",
            )
        if auth == "api_key" and settings.api_key(ctx.env, os.environ) is None:
            raise StrategyUnavailableError(
                f"target cloud needs an API key: LANGSMITH_API_KEY is not set (server {url})",
                hint="export LANGSMITH_API_KEY=...; or --option auth=none for a server "
                "without authentication",
            )
        self.close()
        self.state = {
            "target": "cloud",
            "running": True,
            "url": url,
            "auth": auth,
            "graph_id": graph_id,
            "kind": None,
        }
        ship = (
            f"ship the adapted copy first: cd {ctx.adapted_path} && langgraph deploy "
            f"--name {ctx.name} (LangGraph Platform), or build it with `langgraph build` for a "
            "self-hosted server; then run `deployer start` or deploy again"
        )
        self._note(f"connecting to {url} (graph {graph_id!r}, auth {auth})")
        try:
            self._check_cloud_health(url)
            self.state["kind"] = self._learn_kind(graph_id, f"the LangGraph server at {url}", ship)
        except BaseException as exc:
            self.state["running"] = False
            self._note(f"failed: {exc}")
            raise
        self._note(f"ready: graph {graph_id!r} is served ({self.state['kind']}); {ship}")

    def _check_cloud_health(self, url: str) -> None:
        from deployer_langgraph.client import describe

        try:
            response = self._sdk().http.client.get("/ok", timeout=HEALTH_TIMEOUT)
        except Exception as exc:
            raise DeployFailedError(
                f"cannot reach the LangGraph server at {url}: {describe(exc)}",
                hint="check the URL and the network",
            ) from None
        if response.status_code in {401, 403}:
            raise DeployFailedError(
                f"the LangGraph server at {url} refused the API key (HTTP {response.status_code})",
                hint="check LANGSMITH_API_KEY",
            )
        if response.status_code != 200:
            raise DeployFailedError(
                f"the LangGraph server at {url} is not healthy: GET /ok answered HTTP "
                f"{response.status_code}"
            )

    def _note(self, line: str) -> None:
        """One line in cloud.log: what deployer did (there is no server output to show)."""
        import time

        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with (self.runtime_dir / CLOUD_LOG).open("a", encoding="utf-8") as handle:
            handle.write(f"[deployer-langgraph {stamp}] {line}\n")
