"""The HTTP client runners use to call a deployment that answers with result envelopes.

One lazy keep-alive `httpx.Client` per runner (consecutive runs reuse the connection), the
input encoded once, the answer checked to be an envelope, and every transport failure turned
into one line. Liveness is the caller's business and is checked only after a failure, never
before every call (that cost ~125 µs a call when it read /proc each time). The GETs (health,
readiness, schema) go through `deployer.runtime.probe` on the standard library, so a deploy,
which makes only those, never imports httpx.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from deployer.runtime.probe import ProbeAnswer, ProbeError, probe
from deployer.runtime.runner import Readiness, failure

if TYPE_CHECKING:
    import httpx

ENVELOPE_STATUSES = frozenset({"success", "error"})
# What core's serving runtime answers where (docs/serving-runtime.md), for `deployer endpoint`.
SERVED_PATHS = {
    "run": "POST /run",
    "stream": "POST /stream",
    "ready": "GET /readyz",
    "live": "GET /livez",
    "schema": "GET /schema",
    "metrics": "GET /metrics",
}


def is_envelope(payload: object) -> bool:
    return isinstance(payload, dict) and payload.get("status") in ENVELOPE_STATUSES


class EnvelopeClient:
    """Calls `POST {base_url}{path}` with a JSON object and returns the envelope it answers.

    `base_url` may be a callable, for runners whose endpoint is known only once started.
    `headers` are sent with every request (the deployment's bearer token, say).
    """

    def __init__(
        self,
        base_url: str | Callable[[], str | None],
        *,
        name: str,
        timeout: float,
        connect_timeout: float = 5.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._base_url = base_url
        self.name = name
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.headers = dict(headers or {})
        self._client: httpx.Client | None = None

    @property
    def base_url(self) -> str | None:
        return self._base_url() if callable(self._base_url) else self._base_url

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            import httpx

            self._client = httpx.Client(
                trust_env=False,
                timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
                headers=self.headers,
            )
        return self._client

    def get(self, path: str, timeout: float | None = None) -> ProbeAnswer:
        """A GET to the deployment (health, readiness, schema); ProbeError when no answer."""
        return probe(
            f"{self.base_url}{path}",
            headers=self.headers,
            timeout=self.timeout if timeout is None else timeout,
        )

    def readiness(self, timeout: float = 5.0) -> Readiness:
        """What the serving runtime's GET /readyz says: 200 ready; 503 loading or failed (with
        the load error); no answer: stopped."""
        if not self.base_url:
            return Readiness(state="stopped")
        try:
            response = self.get("/readyz", timeout=timeout)
            body = response.json()
        except (ProbeError, ValueError):
            return Readiness(state="stopped")
        state = body.get("status") if isinstance(body, dict) else None
        if response.status_code == 200:
            return Readiness(state="ready")
        if state in ("loading", "failed"):
            error = body.get("error")
            return Readiness(state=state, error=str(error)[:1000] if error else None)
        return Readiness(state="failed", error=f"HTTP {response.status_code} from /readyz")

    def schema(self, timeout: float = 5.0) -> dict[str, Any] | None:
        """The input schema the server publishes at GET /schema, or None if it has none yet."""
        if not self.base_url:
            return None
        try:
            response = self.get("/schema", timeout=timeout)
            body = response.json() if response.status_code == 200 else None
        except (ProbeError, ValueError):
            return None
        return body if isinstance(body, dict) else None

    def post_envelope(
        self,
        path: str,
        inputs: Any,
        *,
        on_transport_error: Callable[[httpx.HTTPError], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The deployment's envelope for `inputs`, or an error envelope saying why there is
        none: not JSON-serialisable, timed out, unreachable, or an answer that is no envelope.
        `on_transport_error` lets the runner explain a failed connection (e.g. the process
        has exited) instead of the generic line."""
        try:
            body = json.dumps(inputs, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            return failure(f"inputs are not JSON-serialisable: {exc}")
        base = self.base_url
        if not base:
            return failure(f"deployment {self.name} has no endpoint")
        client = self.client
        import httpx  # loaded by `client`

        try:
            response = client.post(
                f"{base}{path}", content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.TimeoutException:
            return failure(
                f"deployment {self.name} did not answer within {self.timeout:g}s "
                "(the run timeout); the call may still be running in the server"
            )
        except httpx.HTTPError as exc:
            if on_transport_error is not None:
                return on_transport_error(exc)
            return failure(f"cannot reach deployment {self.name}: {type(exc).__name__}")
        return self.envelope_of(response)

    def stream_envelopes(self, path: str, inputs: Any) -> Iterator[dict[str, Any]]:
        """Each newline-delimited JSON item of a streamed answer, as it arrives."""
        try:
            body = json.dumps(inputs, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            yield failure(f"inputs are not JSON-serialisable: {exc}")
            return
        headers = {"Content-Type": "application/json", "Accept": "application/x-ndjson"}
        client = self.client
        import httpx  # loaded by `client`

        try:
            with client.stream(
                "POST", f"{self.base_url}{path}", content=body, headers=headers
            ) as response:
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    try:
                        item = json.loads(line)
                    except ValueError:
                        yield failure(f"unreadable stream item from {self.name}: {line[:200]!r}")
                        return
                    yield item if isinstance(item, dict) else failure("stream item not an object")
        except httpx.TimeoutException:
            yield failure(f"deployment {self.name} stopped streaming within {self.timeout:g}s")
        except httpx.HTTPError as exc:
            yield failure(f"cannot reach deployment {self.name}: {type(exc).__name__}")

    def answerer(self) -> str:
        """Who a non-envelope answer is reported as coming from."""
        return f"the server of {self.name}"

    def envelope_of(self, response: httpx.Response) -> dict[str, Any]:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if is_envelope(payload):
            return payload
        return failure(
            f"unexpected answer from {self.answerer()}: "
            f"HTTP {response.status_code} {response.text[:200]!r}"
        )

    def close(self) -> None:
        """Release the connection pool (the deployment keeps running)."""
        if self._client is not None:
            self._client.close()
            self._client = None
