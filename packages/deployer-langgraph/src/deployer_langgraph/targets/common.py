"""What both targets share: calls through langgraph_sdk to the server that serves the graph.

Every call goes through sdk.py (imported inside methods only): `runs.wait` for run(),
`runs.stream` with stream_mode="updates" for stream(); stateless unless a thread is named by
the `thread_id` option or a `thread` key in the input. A target says where its server is
(`endpoint`), which API key it sends (`api_key`) and why calls cannot reach it now
(`unavailable_reason`).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from deployer.plugin import (
    DeployFailedError,
    Runner,
    RunnerContext,
    RunnerStatus,
    failure,
    read_tail,
    success,
)
from deployer_langgraph import workspace

if TYPE_CHECKING:
    from langgraph_sdk.client import SyncLangGraphClient

HEALTH_TIMEOUT = 5.0
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def clean(text: str) -> str:
    """Without terminal colour codes (in case LOG_COLOR was overridden)."""
    return _ANSI.sub("", text)


class LangGraphRunner(Runner):
    """Base of the two langgraph targets: run, stream, health and the SDK client.

    A subclass provides `target_name`, `endpoint`, `log_path`, `unavailable_reason()` and
    `not_running(reason)` (the dev target has the last two from core's ProcessServerRunner,
    which comes after this class in its bases).
    """

    target_name: ClassVar[str]
    local_server: ClassVar[bool] = False

    def __init__(self, context: RunnerContext, state: dict[str, Any] | None = None) -> None:
        super().__init__(context, state)
        self._client: SyncLangGraphClient | None = None
        self._client_url: str | None = None
        self._lock = threading.Lock()

    @property
    def provider(self) -> str:
        return f"langgraph-{self.target_name}"

    def prepare_fresh(self) -> str:
        """Prepare the adapted copy for a first deploy; the graph id to call."""
        return workspace.prepare(
            self.context.adapted_path,
            self.context.options,
            fresh=True,
            run_interface=self.context.run_interface,
        )

    def recorded_graph(self) -> str:
        """The graph id recorded at deploy, or the adapted copy's, prepared again (start)."""
        return self.state.get("graph_id") or workspace.prepare(
            self.context.adapted_path, self.context.options
        )

    @property
    def log_path(self) -> Path:
        raise NotImplementedError

    def api_key(self) -> str | None:
        """The key the SDK client sends (None: none; a dev server never sees the user's)."""
        return None

    # -- health and logs ---------------------------------------------------------------------

    def is_healthy(self) -> bool:
        try:
            if self.call_problem() is not None:
                return False
            response = self.sdk_client().http.client.get("/ok", timeout=HEALTH_TIMEOUT)
            return response.status_code == 200
        except Exception:
            return False

    def status(self) -> RunnerStatus:
        if not self.state.get("running"):
            return "stopped"
        return "running" if self.is_healthy() else "failed"

    def logs(self, tail: int | None = None) -> str:
        return clean(read_tail(self.log_path, tail))

    def close(self) -> None:
        """Release the HTTP connections (the deployment keeps running)."""
        with self._lock:
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._client.http.client.close()
            self._client, self._client_url = None, None

    # -- calls -------------------------------------------------------------------------------

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        prepared = self._prepare_call(inputs)
        if "status" in prepared:
            return prepared
        from deployer_langgraph import sdk

        result = sdk.wait(
            self.sdk_client(),
            prepared["graph_id"],
            prepared["payload"],
            prepared["thread"],
            self.context.run_timeout,
        )
        if result["status"] == "success" and self.state.get("kind") == "function":
            return unwrap(result["output"])
        return result

    def stream(self, inputs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        prepared = self._prepare_call(inputs)
        if "status" in prepared:
            yield prepared
            return
        from deployer_langgraph import sdk

        parts = sdk.stream(
            self.sdk_client(),
            prepared["graph_id"],
            prepared["payload"],
            prepared["thread"],
            self.context.run_timeout,
        )
        if self.state.get("kind") != "function":
            with contextlib.closing(parts):
                yield from parts  # a graph's own updates (and custom writes), as items
            return
        # A wrapped function: a generator's items arrive as custom writes; a plain result is
        # the wrapper node's `output`, one item. Either way the stream then ends in success.
        streamed = False
        with contextlib.closing(parts):
            for part in parts:
                if part["status"] != "item":
                    yield part
                elif part.get("event") == "custom":
                    streamed = True
                    yield {"status": "item", "output": part["output"]}
                elif not streamed:
                    updates = part["output"] if isinstance(part["output"], dict) else {}
                    for update in updates.values():
                        result = unwrap(update)
                        yield (
                            {"status": "item", "output": result["output"]}
                            if result["status"] == "success"
                            else result
                        )

    def call_problem(self) -> str | None:
        """Why calls cannot reach the deployment now (the whole message), or None."""
        if not self.state.get("running") or not self.state.get("graph_id"):
            return self.not_running("it is stopped")["error"]
        reason = self.unavailable_reason()
        return self.not_running(reason)["error"] if reason else None

    def _prepare_call(self, inputs: Any) -> dict[str, Any]:
        """The graph, payload and thread of a call, or the error envelope that stops it."""
        if not isinstance(inputs, dict):
            return failure(f"inputs must be a JSON object, got {type(inputs).__name__}")
        problem = self.call_problem()
        if problem is not None:
            return failure(problem)
        from deployer_langgraph.sdk import split_thread

        try:
            rest, thread = split_thread(inputs, str(self.context.options.get("thread_id") or ""))
        except TypeError as exc:
            return failure(str(exc))
        payload = {"input": rest} if self.state.get("kind") == "function" else rest
        return {"graph_id": self.state["graph_id"], "payload": payload, "thread": thread}

    def sdk_client(self) -> SyncLangGraphClient:
        """One client per runner and server URL, so calls reuse keep-alive connections."""
        from deployer_langgraph.sdk import make_client

        url = self.endpoint
        if url is None:
            raise RuntimeError("the deployment has no server URL")
        with self._lock:
            if self._client is None or self._client_url != url:
                self._client = make_client(
                    url,
                    self.api_key(),
                    read_timeout=self.context.run_timeout + 30.0,
                    local=self.local_server,
                )
                self._client_url = url
            return self._client

    def learn_kind(self, graph_id: str, where: str, ship_hint: str | None) -> str:
        """Ask the server which graph it serves under `graph_id`: our wrapper of a plain
        function, or the solution's own graph."""
        from deployer_langgraph.sdk import WRAPPER_NAME, describe, graph_ids, served_graph

        try:
            assistant = served_graph(self.sdk_client(), graph_id)
        except Exception as exc:
            raise DeployFailedError(
                f"asking {where} for graph {graph_id!r} failed: {describe(exc)}"
            ) from None
        if assistant is None:
            served = graph_ids(self.sdk_client())
            listing = f" (it serves {', '.join(served)})" if served else ""
            raise DeployFailedError(
                f"{where} serves no graph {graph_id!r}{listing}", hint=ship_hint
            )
        return "function" if assistant.get("name") == WRAPPER_NAME else "graph"


def unwrap(state: Any) -> dict[str, Any]:
    """A wrapped function's result is the `output` of the wrapper's state."""
    if isinstance(state, dict) and "output" in state:
        return success(state["output"])
    return failure(f"the wrapped function's run returned no output: {state!r}"[:500])
