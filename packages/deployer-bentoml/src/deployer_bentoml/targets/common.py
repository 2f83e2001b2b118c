"""What both targets share: calling the service through bentoml's client (see sdk.py).

A runner here knows its endpoint and why it cannot be called now (`unavailable_reason`);
this base turns that into the run envelope, keeps one client per runner (consecutive runs
reuse its connection) and answers health through the client's readiness check.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from deployer.plugin import Runner, failure
from deployer_bentoml import sdk

if TYPE_CHECKING:
    from bentoml import SyncHTTPClient

CLIENT_TIMEOUT_MARGIN = 2.0


class BentoServiceRunner(Runner):
    """Base of the two bentoml targets: run, health and the client of a served service.

    A subclass provides `unavailable_reason()` and `not_running(reason)` (the local target
    has them from core's ProcessServerRunner, which comes after this class in its bases).
    """

    _client: SyncHTTPClient | None = None

    def after_failed_call(self, result: dict[str, Any]) -> dict[str, Any]:
        """A failed call's envelope, or a better explanation of it (the server has died)."""
        return result

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(inputs, dict):
            return failure(f"inputs must be a JSON object, got {type(inputs).__name__}")
        reason = self.unavailable_reason()
        if reason:
            return self.not_running(reason)
        try:
            client = self.service_client()
        except Exception as exc:
            return self.not_running(f"cannot reach {self.endpoint}: {type(exc).__name__}")
        result = sdk.call(
            client,
            str(self.state.get("api") or "run"),
            inputs,
            own=bool(self.state.get("own_service", True)),
            name=self.context.name,
        )
        return self.after_failed_call(result) if result["status"] == "error" else result

    def stream(self, inputs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Items as the generated service's `stream` API sends them; a solution's own
        service (served as it is) has no such API and answers once."""
        if not isinstance(inputs, dict) or not self.state.get("own_service", True):
            yield self.run(inputs)
            return
        reason = self.unavailable_reason()
        if reason:
            yield self.not_running(reason)
            return
        try:
            client = self.service_client()
        except Exception as exc:
            yield self.not_running(f"cannot reach {self.endpoint}: {type(exc).__name__}")
            return
        yield from sdk.stream(client, "stream", inputs, name=self.context.name)

    def is_healthy(self) -> bool:
        try:
            if self.unavailable_reason():
                return False
            return sdk.is_ready(self.service_client())
        except Exception:
            return False

    def service_client(self) -> SyncHTTPClient:
        if self._client is None:
            endpoint = self.endpoint
            if not endpoint:
                raise RuntimeError("no endpoint")
            # a little over the service's own traffic timeout, so its 504 usually comes first
            timeout = self.context.run_timeout + CLIENT_TIMEOUT_MARGIN
            self._client = sdk.connect(endpoint, timeout=timeout)
        return self._client

    def close(self) -> None:
        """Release the client's connection pool (the deployment keeps running)."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None
