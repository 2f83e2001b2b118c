"""The one module that imports bentoml: its client, `bentoml build` and BentoCloud's API.

Every bentoml error is turned into one line here: a call's failure into an error envelope, a
build or BentoCloud failure into one deployer error. bentoml is imported inside the functions
only: importing it costs about a second, paid when a deployment is first called or built,
never when strategies are listed. The BentoCloud login is checked before anything is built,
so a machine without one fails in one clear line and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployer.plugin import (
    DeployFailedError,
    RunnerError,
    StrategyUnavailableError,
    failure,
    success,
)
from deployer_bentoml.availability import find_login

if TYPE_CHECKING:
    from bentoml import SyncHTTPClient

CONNECT_TIMEOUT = 5.0
BUILD_TIMEOUT = 1800.0
POLL_INTERVAL = 5.0
READY = {"running", "scaled-to-zero"}
FAILED = {"failed", "image-build-failed", "unhealthy"}
ROLLING_UPDATE = "RollingUpdate"  # BentoCloud's deployment strategy that keeps serving
_TAG = re.compile(r"__tag__:(\S+)")

# -- calling a service (bentoml's SyncHTTPClient) ---------------------------------------------


def connect(url: str, *, timeout: float, token: str | None = None) -> SyncHTTPClient:
    """A client for a server that is up: reads its API schema once, does not wait."""
    from bentoml import SyncHTTPClient

    return SyncHTTPClient(url, server_ready_timeout=0, timeout=timeout, token=token)


def is_ready(client: SyncHTTPClient, timeout: float = CONNECT_TIMEOUT) -> bool:
    """The client's readiness check (/readyz); False on any transport error."""
    try:
        return bool(client.is_ready(timeout=timeout))  # type: ignore[arg-type]
    except Exception:
        return False


def call(
    client: SyncHTTPClient, api: str, inputs: dict[str, Any], *, own: bool, name: str
) -> dict[str, Any]:
    """Call `api` with the inputs: our generated service takes them whole as `inputs`, a
    solution's own service takes them as the API's keyword arguments."""
    import httpx
    from bentoml.exceptions import BentoMLException

    try:
        output = client.call(api, inputs=inputs) if own else client.call(api, **inputs)
        if own:  # our service answers {"output": value}, so a bare string stays JSON
            if not isinstance(output, dict) or "output" not in output:
                return failure(f"the answer of {name} is not deployer's envelope: {output!r}"[:300])
            output = output["output"]
    except BentoMLException as exc:
        if getattr(exc.error_code, "value", None) == 504:  # BentoML's traffic timeout
            return failure(
                f"deployment {name} did not answer within the run timeout: {server_error(exc, api)}"
            )
        return server_failure(str(exc), api, getattr(exc.error_code, "value", None))
    except TypeError as exc:  # raised by the client when arguments do not fit the API schema
        return failure(f"inputs do not fit the API {api!r} of {name}: {exc}")
    except httpx.TimeoutException:
        return failure(
            f"deployment {name} did not answer within the run timeout ({client.timeout:g}s); "
            "the call may still be running in the server"
        )
    except httpx.HTTPError as exc:
        return failure(f"cannot reach deployment {name}: {type(exc).__name__}: {exc}")
    except ValueError as exc:
        return failure(f"the answer of {name} could not be read: {exc}")
    return success(output)


def stream(
    client: SyncHTTPClient, api: str, inputs: dict[str, Any], *, name: str
) -> Iterator[dict[str, Any]]:
    """The items our generated service's stream API sends (newline-delimited JSON, in
    chunks that need not end at a line), each an envelope; a failure ends with one."""
    import httpx
    from bentoml.exceptions import BentoMLException

    buffer = ""
    try:
        for chunk in client.call(api, inputs=inputs):
            buffer += chunk if isinstance(chunk, str) else bytes(chunk).decode("utf-8")
            *lines, buffer = buffer.split("\n")
            for line in lines:
                if line.strip():
                    yield _stream_item(line, name)
        if buffer.strip():
            yield _stream_item(buffer, name)
    except BentoMLException as exc:
        yield failure(server_error(exc, api))
    except httpx.TimeoutException:
        yield failure(f"deployment {name} stopped streaming within the run timeout")
    except httpx.HTTPError as exc:
        yield failure(f"cannot reach deployment {name}: {type(exc).__name__}: {exc}")


def _stream_item(line: str, name: str) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except ValueError:
        return failure(f"unreadable stream item from {name}: {line[:200]!r}")
    return item if isinstance(item, dict) else failure(f"stream item of {name} not an object")


def server_error(exc: Exception, api: str) -> str:
    """The server's error body as one readable message (see `server_failure`)."""
    status = getattr(getattr(exc, "error_code", None), "value", None)
    return str(server_failure(str(exc), api, status)["error"])


def server_failure(text: str, api: str, status: int | None) -> dict[str, Any]:
    """The error envelope for a failed call's body, whatever BentoML exception class carried
    it: our service's `{"error": ..., "field": ...}`, or BentoML's own validation answer
    (`{"error": ..., "detail": [pydantic errors]}`: a solution's own service), whose first
    error's location becomes `field`, so a wrong input reads the same on every service."""
    text = text.strip()
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, list) and len(body) == 1:  # BentoML wraps some 4xx bodies in a list
        body = body[0]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        envelope = failure(body["error"])
        if isinstance(body.get("field"), str):
            envelope["field"] = body["field"]
        details = body.get("detail")
        if isinstance(details, list) and details:
            parts, fields = [], []
            for item in details:
                if isinstance(item, dict):
                    loc = [str(p) for p in item.get("loc", []) if p != "body"]
                    where = ".".join(loc)
                    fields.append(where)
                    parts.append(f"{where}: {item.get('msg', '')}".strip(": "))
            if parts:
                envelope["error"] = f"invalid input: {'; '.join(parts)}"
                if fields[0]:
                    envelope.setdefault("field", fields[0])
        return envelope
    prefix = f"the API {api!r} failed" + (f" with HTTP {status}" if status else "")
    return failure(f"{prefix}: {text[:300]}" if text else prefix)


def readiness(client: SyncHTTPClient, timeout: float = CONNECT_TIMEOUT) -> tuple[str, str | None]:
    """(loading | ready | failed, the load error) from the generated service: /readyz first
    (BentoML's own check, 200 once loaded), then its `deployer_readiness` API for why not."""
    if is_ready(client, timeout):
        return "ready", None
    try:
        body = client.call("deployer_readiness")
    except Exception as exc:
        return "failed", f"its readiness API did not answer: {type(exc).__name__}"
    state = body.get("status") if isinstance(body, dict) else None
    if state not in ("loading", "ready", "failed"):
        return "failed", f"unreadable readiness answer: {body!r}"[:300]
    error = body.get("error")
    return state, str(error)[:1000] if error else None


def schema(client: SyncHTTPClient, api: str, *, own: bool) -> dict[str, Any] | None:
    """The input schema: our service's `deployer_schema` API, or the JSON Schema BentoML
    publishes for a solution's own API (its parameters as one object)."""
    if own:
        published = client.call("deployer_schema")
        return published if isinstance(published, dict) and published else None
    endpoint = client.endpoints.get(api)
    found = getattr(endpoint, "input", None)
    if not isinstance(found, dict):
        return None
    return {k: v for k, v in found.items() if k != "title"}


def mounted_routes(client: SyncHTTPClient) -> list[str]:
    """POST routes of the web apps a service mounts with @bentoml.asgi_app, as BentoML's
    OpenAPI document (/docs.json) lists them: the paths that are no API of the service."""
    paths = _openapi(client).get("paths", {})
    apis = {endpoint.route for endpoint in client.endpoints.values()}
    return sorted(
        path
        for path, item in paths.items()
        if isinstance(item, dict) and "post" in item and path not in apis and "{" not in path
    )


def route_schema(client: SyncHTTPClient, route: str) -> dict[str, Any] | None:
    """The JSON Schema of a mounted route's request body, as its app declares it (FastAPI's
    OpenAPI, merged into BentoML's /docs.json); None when it declares none."""
    document = _openapi(client)
    post = document.get("paths", {}).get(route, {}).get("post", {})
    found = post.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = found.get("schema")
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document.get("components", {}).get("schemas", {}).get(name)
    return dict(schema) if isinstance(schema, dict) else None


def _openapi(client: SyncHTTPClient) -> dict[str, Any]:
    response = client.request("GET", "/docs.json")
    response.raise_for_status()
    document = response.json()
    return document if isinstance(document, dict) else {}


def post_route(
    client: SyncHTTPClient, route: str, inputs: dict[str, Any], *, name: str
) -> dict[str, Any]:
    """POST the inputs as the JSON body to a mounted web app's route; its JSON answer is the
    output, its own 4xx/5xx an error envelope with its body."""
    import httpx

    try:
        response = client.request("POST", route, json=inputs)
    except httpx.TimeoutException:
        return failure(f"deployment {name} did not answer within the run timeout")
    except httpx.HTTPError as exc:
        return failure(f"cannot reach deployment {name}: {type(exc).__name__}: {exc}")
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if response.status_code >= 400:
        detail = body.get("detail") if isinstance(body, dict) else None
        if isinstance(detail, list):  # FastAPI's validation answer: pydantic errors
            return server_failure(json.dumps({"error": "invalid input", "detail": detail}),
                                  route, response.status_code)  # fmt: skip
        text = body if isinstance(body, str) else json.dumps(body)
        return failure(f"POST {route} answered HTTP {response.status_code}: {text[:300]}")
    return success(body)


# -- bentoml build and BentoCloud ------------------------------------------------------------


def require_login() -> None:
    login = find_login()
    if not login.found:
        raise StrategyUnavailableError(
            f"target bentocloud is unavailable here: {login.reason}", hint=login.hint
        )


def build(workspace: Path, log_path: Path, env: dict[str, str]) -> str:
    """`bentoml build` of the workspace in a subprocess (the solution's code is imported by the
    build, never into deployer's process); returns the bento tag."""
    command = [sys.executable, "-m", "bentoml", "build", str(workspace), "--output", "tag"]
    start = log_path.stat().st_size if log_path.exists() else 0
    with log_path.open("ab") as log:
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        try:
            result = subprocess.run(
                command,
                cwd=workspace,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                timeout=BUILD_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DeployFailedError(
                f"bentoml build took longer than {BUILD_TIMEOUT:.0f}s", hint=f"see {log_path}"
            ) from None
        out = result.stdout.decode("utf-8", errors="replace")
        log.write(out.encode())
    match = _TAG.search(out)
    if result.returncode != 0 or match is None:
        with log_path.open("rb") as handle:
            handle.seek(start)
            lines = handle.read().decode("utf-8", errors="replace").strip().splitlines()
        errors = [line for line in lines if "Error" in line or "error" in line]
        last = (errors or lines or ["no output"])[-1].strip()
        raise DeployFailedError(f"bentoml build failed: {last}", hint=f"full log: {log_path}")
    return match.group(1)


def _bentoml_error(action: str, exc: Exception, error: type[Exception]) -> Exception:
    text = " ".join(str(exc).split())[:300] or type(exc).__name__
    return error(f"BentoCloud {action} failed: {text}")


@contextlib.contextmanager
def _quiet_console(log_path: Path):
    """bentoml's cloud client prints progress with rich to stdout; keep it in our log so
    `deployer deploy --json` output stays clean."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            yield
    finally:
        if buffer.getvalue():
            with log_path.open("a", encoding="utf-8") as log:
                log.write(buffer.getvalue())


def _deployment_args(
    name: str, bento: str, options: dict[str, Any], env: dict[str, str]
) -> dict[str, Any]:
    """What create and update both pass: the deployment, its bento, scaling and envs."""
    kwargs: dict[str, Any] = {
        "name": name,
        "bento": bento,
        "scaling_min": int(options.get("scaling_min") or 0),
        "scaling_max": max(1, int(options.get("scaling_max") or 1)),
        "envs": [{"name": key, "value": value} for key, value in env.items()] or None,
    }
    if options.get("cluster"):
        kwargs["cluster"] = options["cluster"]
    if options.get("instance_type"):
        kwargs["instance_type"] = options["instance_type"]
    return kwargs


def create(
    *,
    name: str,
    bento: str,
    options: dict[str, Any],
    env: dict[str, str],
    log_path: Path,
) -> str:
    """Create the deployment; returns the cluster it went to."""
    import bentoml

    kwargs = _deployment_args(name, bento, options, env)
    try:
        with _quiet_console(log_path):
            deployment = bentoml.deployment.create(**kwargs)
    except Exception as exc:
        raise _bentoml_error(f"deployment of {bento}", exc, DeployFailedError) from None
    return str(getattr(deployment, "cluster", "") or options.get("cluster") or "")


def update(
    *,
    name: str,
    bento: str,
    cluster: str | None,
    options: dict[str, Any],
    env: dict[str, str],
    log_path: Path,
) -> str:
    """Point the existing deployment `name` at `bento` with BentoCloud's rolling update: its
    own versions, the old replicas serving until the new ones are ready. Returns the cluster."""
    import bentoml

    kwargs = _deployment_args(name, bento, options, env)
    if cluster:
        kwargs["cluster"] = cluster
    kwargs["strategy"] = ROLLING_UPDATE
    try:
        with _quiet_console(log_path):
            deployment = bentoml.deployment.update(**kwargs)
    except Exception as exc:
        raise _bentoml_error(f"update of {name} to {bento}", exc, DeployFailedError) from None
    return str(getattr(deployment, "cluster", "") or cluster or "")


def current_bento(name: str, cluster: str | None, log_path: Path, *, strict: bool) -> str | None:
    """The bento the BentoCloud deployment `name` runs now; None when there is no such
    deployment. A lookup that fails otherwise raises when `strict`, else reads as None (a
    create then reports what is wrong in its own words)."""
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        with _quiet_console(log_path):
            return str(bentoml.deployment.get(name, cluster=cluster or None).get_bento(False))
    except NotFound:
        return None
    except Exception as exc:
        if strict:
            raise _bentoml_error(f"lookup of {name}", exc, RunnerError) from None
        return None


def wait_ready(
    name: str, cluster: str | None, timeout: float, log_path: Path, bento: str | None = None
) -> str:
    """Poll the deployment's status until it runs (`bento`, when given: an update has rolled
    out, not only the previous bento still running); returns its endpoint URL."""
    import bentoml

    deadline = time.monotonic() + timeout
    status = "unknown"
    while True:
        try:
            with _quiet_console(log_path):
                deployment = bentoml.deployment.get(name, cluster=cluster or None)
                status = str(deployment.get_status(refetch=False).status)
                rolled_out = bento is None or deployment.get_bento(refetch=False) == bento
                if status in READY and rolled_out:
                    return deployment.get_endpoint_urls(refetch=False)[0]
        except Exception as exc:
            raise _bentoml_error(f"status of {name}", exc, DeployFailedError) from None
        if status in FAILED:
            raise DeployFailedError(
                f"BentoCloud deployment {name} is {status}",
                hint="see its events in the BentoCloud console",
            )
        if time.monotonic() >= deadline:
            raise DeployFailedError(
                f"BentoCloud deployment {name} was not ready within {timeout:g}s (status {status})"
            )
        with log_path.open("a", encoding="utf-8") as log:
            log.write(f"BentoCloud deployment {name}: {status}\n")
        time.sleep(POLL_INTERVAL)


def terminate(name: str, cluster: str | None, log_path: Path) -> None:
    _deployment_call("terminate", name, cluster, log_path, missing_ok=True)


def start(name: str, cluster: str | None, log_path: Path) -> None:
    _deployment_call("start", name, cluster, log_path, missing_ok=False)


def delete(name: str, cluster: str | None, log_path: Path) -> None:
    _deployment_call("delete", name, cluster, log_path, missing_ok=True)


def _deployment_call(
    verb: str, name: str, cluster: str | None, log_path: Path, *, missing_ok: bool
) -> None:
    """`bentoml.deployment.<verb>(name)`; a deployment already gone is fine to stop or delete."""
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        with _quiet_console(log_path):
            getattr(bentoml.deployment, verb)(name, cluster=cluster or None)
    except NotFound as exc:
        if not missing_ok:
            raise _bentoml_error(f"{verb} of {name}", exc, RunnerError) from None
    except Exception as exc:
        raise _bentoml_error(f"{verb} of {name}", exc, RunnerError) from None


def delete_bento(tag: str) -> None:
    """Drop the bento we built from the local bento store; best effort (it may be gone).
    `bentoml delete` runs as a subprocess, like the build: the store is the one of the
    environment now (BENTOML_HOME), not the one an earlier import of bentoml settled on."""
    command = [sys.executable, "-m", "bentoml", "delete", tag, "--yes"]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            command,
            env=build_env({}),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=BUILD_TIMEOUT,
            check=False,
        )


def build_env(extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **extra}
    env.setdefault("BENTOML_DO_NOT_TRACK", "True")
    return env
