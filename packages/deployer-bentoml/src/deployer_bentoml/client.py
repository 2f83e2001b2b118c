"""Calling a BentoML service through bentoml's own SyncHTTPClient, answers as envelopes.

bentoml is imported inside these functions only: importing its client costs about a second,
paid when a deployment is first called, never when strategies are listed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from deployer.runtime.runner import failure, success

if TYPE_CHECKING:
    from bentoml import SyncHTTPClient

CONNECT_TIMEOUT = 5.0


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
    except BentoMLException as exc:
        if getattr(exc.error_code, "value", None) == 504:  # BentoML's traffic timeout
            return failure(
                f"deployment {name} did not answer within the run timeout: {server_error(exc, api)}"
            )
        return failure(server_error(exc, api))
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


def server_error(exc: Exception, api: str) -> str:
    """The server's error body (`{"error": ...}`, possibly with pydantic `detail`) as one
    readable message, whatever BentoML exception class carried it."""
    text = str(exc).strip()
    status = getattr(getattr(exc, "error_code", None), "value", None)
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, list) and len(body) == 1:  # BentoML wraps some 4xx bodies in a list
        body = body[0]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        message = body["error"]
        details = body.get("detail")
        if isinstance(details, list) and details:
            parts = []
            for item in details:
                if isinstance(item, dict):
                    where = ".".join(str(p) for p in item.get("loc", []))
                    parts.append(f"{where}: {item.get('msg', '')}".strip(": "))
            if parts:
                message = f"{message}: {'; '.join(parts)}"
        return message
    prefix = f"the API {api!r} failed" + (f" with HTTP {status}" if status else "")
    return f"{prefix}: {text[:300]}" if text else prefix
