"""What both targets share: calling the service through bentoml's client (see sdk.py).

A runner here knows its endpoint and why it cannot be called now (`unavailable_reason`);
this base turns that into the run envelope, keeps one client per runner (consecutive runs
reuse its connection) and answers health through the client's readiness check.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from deployer.plugin import DeployFailedError, Readiness, Runner, failure
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
        if self.state.get("route"):  # a web app the solution's service mounts
            result = sdk.post_route(client, self.state["route"], inputs, name=self.context.name)
            return self.after_failed_call(result) if result["status"] == "error" else result
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
            yield self.run(inputs)  # (a mounted web app's route too: it is no own service)
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

    def settle_route(self) -> None:
        """Where `run()` posts for a service that mounts a web app (@bentoml.asgi_app): the
        `route` option, else the one POST route the mounted app serves (read from BentoML's
        OpenAPI document of the running service). Other services call their API."""
        wanted = str(self.context.options.get("route") or "")
        if not wanted and not (self.state.get("mounts_app") and not self.state.get("api")):
            return
        try:
            routes = sdk.mounted_routes(self.service_client())
        except Exception as exc:
            raise DeployFailedError(
                f"cannot read the routes of {self.context.name}'s mounted app: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        self.state["route"] = choose_route(self.context.name, routes, wanted)
        self.save_state()

    def readiness(self) -> Readiness:
        """Our generated service says loading/ready/failed (with the load error); a solution's
        own service knows only BentoML's /readyz: ready or not."""
        reason = self.unavailable_reason()
        if reason:
            return Readiness(state="stopped", error=reason)
        try:
            client = self.service_client()
        except Exception:
            return Readiness(state="stopped", error=f"{self.endpoint} does not answer")
        if not self.state.get("own_service", True):
            ready = sdk.is_ready(client)
            return Readiness(state="ready") if ready else Readiness(state="loading")
        state, error = sdk.readiness(client)
        return Readiness(state=state, error=error)  # type: ignore[arg-type]

    def schema(self) -> dict[str, Any] | None:
        """What the served service publishes, else the signature recorded at adaptation."""
        if not self.unavailable_reason():
            try:
                client, route = self.service_client(), self.state.get("route")
                published = (
                    sdk.route_schema(client, route)
                    if route
                    else sdk.schema(
                        client,
                        str(self.state.get("api") or "run"),
                        own=bool(self.state.get("own_service", True)),
                    )
                )
            except Exception:
                published = None
            if published is not None:
                return published
        return super().schema()

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


def choose_route(name: str, routes: list[str], wanted: str) -> str:
    """The served POST route `run()` posts to: `wanted` as served (the mount path included)
    or as the app declares it (under its mount path); else the only one there is."""
    if wanted:
        path = "/" + wanted.lstrip("/")
        matches = [r for r in routes if r == path] or [r for r in routes if r.endswith(path)]
        if len(matches) == 1:
            return matches[0]
        raise DeployFailedError(
            f"route {path} is not a POST route of {name}'s mounted app (its POST routes: "
            f"{', '.join(routes) or 'none'})",
            hint="pass --option route=/path with one of them",
        )
    if len(routes) == 1:
        return routes[0]
    listed = ", ".join(routes) or "none"
    raise DeployFailedError(
        f"cannot tell which route of {name}'s mounted app to post to: its POST routes are {listed}",
        hint="pass --option route=/path",
    )
