"""The one module that imports langgraph_sdk: calls to a LangGraph server as envelopes.

Imported only inside the runners' methods (never by the plugin module). Every failure ends as
`failure(...)` carrying the server's own message, or one line from `describe`; no exception
of the SDK or httpx reaches the caller.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
from langgraph_sdk.client import SyncLangGraphClient

from deployer.plugin import failure, one_line, success

WRAPPER_NAME = "deployer_function"  # the compiled name of deployer_graph.py's wrapper
THREAD_KEY = "thread"
THREAD_NAMESPACE = uuid.NAMESPACE_URL
CANCEL_TIMEOUT = 5.0


def make_client(
    url: str, api_key: str | None, *, read_timeout: float, local: bool
) -> SyncLangGraphClient:
    """The SDK's client on our own httpx.Client: no proxy for a loopback server, the key
    only where one is configured (a dev server never sees the user's LangSmith key)."""
    headers = {"User-Agent": "deployer-langgraph"}
    if api_key:
        headers["x-api-key"] = api_key
    http = httpx.Client(
        base_url=url,
        headers=headers,
        timeout=httpx.Timeout(read_timeout, connect=5.0, pool=5.0),
        transport=httpx.HTTPTransport(retries=2),
        trust_env=not local,
    )
    return SyncLangGraphClient(http)


def thread_uuid(thread: str) -> str:
    """A thread id the server accepts: a UUID as it is, any other name mapped to a UUID
    (uuid5 of "deployer-langgraph:thread:<name>"), so `{"thread": "alice"}` works."""
    try:
        return str(uuid.UUID(thread))
    except ValueError:
        return str(uuid.uuid5(THREAD_NAMESPACE, f"deployer-langgraph:thread:{thread}"))


def split_thread(inputs: dict[str, Any], default: str) -> tuple[dict[str, Any], str | None]:
    """The inputs without the `thread` key, and the thread to run on (None: stateless)."""
    if THREAD_KEY not in inputs:
        return inputs, thread_uuid(default) if default else None
    rest = {k: v for k, v in inputs.items() if k != THREAD_KEY}
    value = inputs[THREAD_KEY]
    if value is None or value == "":
        return rest, None
    if not isinstance(value, str):
        raise TypeError(f"'thread' must be a string naming a thread, got {type(value).__name__}")
    return rest, thread_uuid(value)


def describe(exc: BaseException) -> str:
    """One line: the server's own message when it sent one."""
    if isinstance(exc, httpx.HTTPStatusError):
        response = exc.response
        detail = _detail(response)
        return f"the LangGraph server answered HTTP {response.status_code}: {detail}"
    if isinstance(exc, httpx.TimeoutException):
        return f"the LangGraph server did not answer in time ({type(exc).__name__})"
    if isinstance(exc, httpx.TransportError):
        return f"cannot reach the LangGraph server: {type(exc).__name__}: {exc}"
    return one_line(exc)


def _detail(response: httpx.Response) -> str:
    try:
        text = response.text
    except httpx.ResponseNotRead:
        try:
            text = response.read().decode("utf-8", errors="replace")
        except Exception:
            text = ""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("detail", "message", "error"):
            if body.get(key):
                value = body[key]
                return value if isinstance(value, str) else json.dumps(value)
    return (text.strip() or response.reason_phrase or "no details")[:500]


def run_error(result: Any) -> str | None:
    """The message of a run that ended in error (raise_error=False gives `__error__`)."""
    if isinstance(result, dict) and isinstance(result.get("__error__"), dict):
        error = result["__error__"]
        kind, message = error.get("error") or "Error", error.get("message") or ""
        return f"{kind}: {message}" if message else str(kind)
    return None


def wait(
    client: SyncLangGraphClient,
    graph_id: str,
    payload: dict[str, Any],
    thread_id: str | None,
    timeout: float,
) -> dict[str, Any]:
    """`runs.wait` within `timeout` seconds: the envelope of the run's output state.

    The SDK retries a cut-off wait by reconnecting, which stretches a client timeout many
    times over; so the call runs in a daemon thread and, past the deadline, the run is
    cancelled on the server (the thread then ends with the cancelled run's answer).
    """
    created: dict[str, Any] = {}
    outcome: dict[str, Any] = {}
    done = threading.Event()
    kwargs: dict[str, Any] = {
        "input": payload,
        "raise_error": False,
        "on_disconnect": "cancel",
        "on_run_created": created.update,
    }
    if thread_id is not None:
        kwargs["if_not_exists"] = "create"

    def call() -> None:
        try:
            outcome["result"] = client.runs.wait(thread_id, graph_id, **kwargs)
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=call, name="deployer-langgraph-wait", daemon=True).start()
    if not done.wait(timeout):
        cancelled = _cancel(client, created)
        return failure(
            f"the run did not finish within {timeout:g}s (the run timeout); "
            + ("it was cancelled on the server" if cancelled else "it may still be running")
        )
    if "error" in outcome:
        return failure(describe(outcome["error"]))
    result = outcome.get("result")
    message = run_error(result)
    return failure(message) if message else success(result)


def _cancel(client: SyncLangGraphClient, created: dict[str, Any]) -> bool:
    run_id, thread_id = created.get("run_id"), created.get("thread_id")
    if not run_id or not thread_id:
        return False
    try:
        client.runs.cancel(thread_id, run_id)
    except Exception:
        return False
    return True


def stream(
    client: SyncLangGraphClient,
    graph_id: str,
    payload: dict[str, Any],
    thread_id: str | None,
    timeout: float,
) -> Iterator[dict[str, Any]]:
    """The run's events as stream items: `{"status": "item", "output": {node: update},
    "event": "updates"}` per node, `{"status": "item", "output": data, "event": "custom"}`
    per value a node wrote with LangGraph's stream writer, then `{"status": "success"}`; an
    error ends the stream with the error envelope. Closing the generator disconnects, which
    cancels the run."""
    deadline = time.monotonic() + timeout
    kwargs: dict[str, Any] = {
        "input": payload,
        "stream_mode": ["updates", "custom"],
        "on_disconnect": "cancel",
    }
    if thread_id is not None:
        kwargs["if_not_exists"] = "create"
    parts = client.runs.stream(thread_id, graph_id, **kwargs)
    try:
        for part in parts:
            if part.event == "error":
                yield failure(_stream_error(part.data))
                return
            mode = part.event.split("|", 1)[0]
            if mode in ("updates", "custom"):
                yield {"status": "item", "output": part.data, "event": mode}
            if time.monotonic() > deadline:
                yield failure(f"the run did not finish within {timeout:g}s (the run timeout)")
                return
        yield {"status": "success"}
    except Exception as exc:
        yield failure(describe(exc))
    finally:
        close = getattr(parts, "close", None)
        if close is not None:
            close()


def _stream_error(data: Any) -> str:
    """An `error` event's data: the same {"error", "message"} a failed wait returns."""
    return (run_error({"__error__": data}) if isinstance(data, dict) else None) or str(data)


def served_graph(client: SyncLangGraphClient, graph_id: str) -> dict[str, Any] | None:
    """The system assistant of `graph_id` on the server, or None when it serves no such
    graph. Its `name` tells a wrapped function (WRAPPER_NAME) from a solution's own graph."""
    try:
        found = client.assistants.search(graph_id=graph_id, limit=1)
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code == 404:  # langgraph-api: "Graph '...' not found"
            return None
        raise
    return found[0] if found else None


def graph_ids(client: SyncLangGraphClient) -> list[str]:
    """The graph ids a server serves (for error messages)."""
    try:
        return sorted({a["graph_id"] for a in client.assistants.search(limit=100)})
    except Exception:
        return []
