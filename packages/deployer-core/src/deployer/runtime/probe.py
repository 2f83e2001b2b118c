"""Small GETs to a deployment's health, readiness and schema paths, on the standard library.

A deploy makes only these over HTTP (readiness while the server starts, then health and the
schema), and for them httpx cost a third of a warm local deploy: its import (which loads its
command-line tool's rich and pygments when they are installed), the httpcore transport it
imports on first use and an SSL context per client, ~0.15 s in all. Calls (`run`, `stream`)
keep httpx and its keep-alive pool; a probe is one short request, so one connection each.
Proxies are never used (as `trust_env=False` for the httpx client): these are the
deployment's own endpoints.
"""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class ProbeError(Exception):
    """No HTTP answer: refused, reset, timed out, or not HTTP."""


@dataclass(frozen=True)
class ProbeAnswer:
    status_code: int
    content: bytes

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not (as httpx's Response.json)."""
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


MAX_BODY = 8 * 1024 * 1024  # a schema is a few KB; never read an endless body


def probe(url: str, *, headers: dict[str, str] | None = None, timeout: float) -> ProbeAnswer:
    """GET `url` once and return its status and body; ProbeError when there is no answer."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeError(f"not an http(s) URL: {url!r}")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", path, headers=dict(headers or {}))
        response = connection.getresponse()
        body = response.read(MAX_BODY)
        return ProbeAnswer(response.status, body)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise ProbeError(f"{type(exc).__name__}: {exc}") from None
    finally:
        connection.close()
