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


def _run_options(payload: dict[str, Any], thread_id: str | None, **extra: Any) -> dict[str, Any]:
    """Keyword arguments of `runs.wait` and `runs.stream`: the input, the run cancelled when the
    client disconnects, a named thread created when it does not exist yet."""
    options: dict[str, Any] = {"input": payload, "on_disconnect": "cancel", **extra}
    if thread_id is not None:
        options["if_not_exists"] = "create"
    return options


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
    kwargs = _run_options(payload, thread_id, raise_error=False, on_run_created=created.update)

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
    kwargs = _run_options(payload, thread_id, stream_mode=["updates", "custom"])
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


# -- LangGraph Platform revisions (the control plane) ------------------------------------------
#
# A cloud deployment with `deployment_id` maps each deployer version onto a revision of that
# LangGraph Platform deployment, made the way `langgraph deploy` makes a remote build: the
# adapted copy archived by langgraph-cli (`create_archive`), uploaded to the signed URL the
# control plane hands out, then `update_deployment_internal_source` (PATCH
# /v2/deployments/{id}) and the revision polled until it is DEPLOYED. The calls are
# langgraph-cli's own `HostBackendClient`; nothing of it is reimplemented here.

CONTROL_PLANE_TRANSPORT: httpx.BaseTransport | None = None
"""Where control-plane (and upload) requests go; None: the network. LangGraph Platform cannot
be reached from the tests, so they set a recording transport here: the one fake, at the
HTTP boundary under langgraph-cli's real client."""

REVISION_LIVE = "DEPLOYED"
REVISION_FAILED = frozenset({"CREATE_FAILED", "BUILD_FAILED", "DEPLOY_FAILED", "SKIPPED"})
REVISION_POLL = 3.0  # as `langgraph deploy` polls


class PlatformError(Exception):
    """A control-plane call that failed, as one line."""


def control_plane(url: str, api_key: str) -> Any:
    """langgraph-cli's HostBackendClient for the control plane at `url` (the CLI's default
    when empty: LangGraph Platform's, or the one LANGSMITH_ENDPOINT points at)."""
    import os

    from langgraph_cli.host_backend import ControlPlaneEndpoints, HostBackendClient

    if not url:
        url = ControlPlaneEndpoints.resolve(
            os.environ.get("LANGGRAPH_HOST_URL"), os.environ.get("LANGSMITH_ENDPOINT")
        ).control_plane_url
    return HostBackendClient(url, api_key, transport=CONTROL_PLANE_TRANSPORT)


def _platform_call(what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except Exception as exc:  # HostBackendError (a click exception), transport errors
        message = getattr(exc, "message", None)  # HostBackendError: the call and the status
        text = message.strip().splitlines()[0] if isinstance(message, str) else describe(exc)
        raise PlatformError(f"LangGraph Platform: {what} failed: {text}") from None


def _upload(upload: dict[str, Any], archive: str) -> None:
    """PUT the source archive to the signed URL, with the headers the control plane asked
    for (the ones `langgraph deploy` sends)."""
    headers = {"Content-Type": "application/gzip", **(upload.get("upload_headers") or {})}
    with open(archive, "rb") as handle:
        body = handle.read()
    transport = CONTROL_PLANE_TRANSPORT or httpx.HTTPTransport(retries=3)
    with httpx.Client(transport=transport, timeout=300.0) as http:
        response = http.put(str(upload["upload_url"]), content=body, headers=headers)
    if response.status_code >= 400:
        raise PlatformError(
            f"LangGraph Platform: uploading the source failed with HTTP {response.status_code}"
        )


def ship_revision(
    client: Any, deployment_id: str, workspace: Any, *, timeout: float
) -> dict[str, Any]:
    """Make a revision of `deployment_id` from the adapted copy and wait for it: returns
    {"revision_id", "status"}; a revision that fails (the platform keeps the live one) or
    does not finish in `timeout` is a PlatformError naming it."""
    from pathlib import Path

    from langgraph_cli.archive import create_archive
    from langgraph_cli.config import validate_config_file

    config_path = Path(workspace) / "langgraph.json"
    try:
        config = validate_config_file(config_path)
    except Exception as exc:
        raise PlatformError(f"langgraph.json cannot be shipped: {describe(exc)}") from None
    with create_archive(config_path, config) as (archive, _size, config_rel):
        upload = _platform_call(
            "requesting an upload URL", client.request_upload_url, deployment_id
        )
        if not upload or not upload.get("upload_url") or not upload.get("object_path"):
            raise PlatformError("LangGraph Platform: the upload URL answer lacks its fields")
        _upload(upload, archive)
    _platform_call(
        "starting the revision's build",
        client.update_deployment_internal_source,
        deployment_id,
        source_tarball_path=str(upload["object_path"]),
        config_path=str(config_rel),
    )
    latest = _platform_call("listing revisions", client.list_revisions, deployment_id, limit=1)
    if not latest:
        raise PlatformError(f"LangGraph Platform: deployment {deployment_id} lists no revision")
    revision_id = str(latest[0]["id"])
    deadline = time.monotonic() + timeout
    while True:
        revision = _platform_call(
            f"reading revision {revision_id}", client.get_revision, deployment_id, revision_id
        )
        status = str((revision or {}).get("status") or "UNKNOWN")
        if status == REVISION_LIVE:
            return {"revision_id": revision_id, "status": status}
        if status in REVISION_FAILED:
            raise PlatformError(
                f"revision {revision_id} of LangGraph deployment {deployment_id} ended "
                f"{status} (the platform keeps serving its live revision)"
            )
        if time.monotonic() >= deadline:
            raise PlatformError(
                f"revision {revision_id} of LangGraph deployment {deployment_id} was still "
                f"{status} after {timeout:g}s"
            )
        time.sleep(REVISION_POLL)


def live_revision(client: Any, deployment_id: str) -> str | None:
    """The revision the platform serves: the newest DEPLOYED one (as `langgraph deploy`
    reads its revision list)."""
    revisions = _platform_call("listing revisions", client.list_revisions, deployment_id, limit=20)
    live = next((r for r in revisions if r.get("status") == REVISION_LIVE), None)
    return str(live["id"]) if live else None


def deployment_url(client: Any, deployment_id: str) -> str | None:
    """The deployment's URL (`source_config.custom_url`), where its graphs are served."""
    found = _platform_call("reading the deployment", client.get_deployment, deployment_id)
    config = (found or {}).get("source_config") or {}
    url = config.get("custom_url") if isinstance(config, dict) else None
    return str(url).rstrip("/") if url else None
