"""target=cloud: an existing LangGraph Platform deployment or self-hosted server.

Without `deployment_id`, deployer does not build there: deploying checks that the server
answers and serves the graph, and says how to ship the adapted copy when it does not. With
`deployment_id` (a LangGraph Platform deployment), each deployer version is a revision of it:
deploy ships the adapted copy as a new revision (langgraph-cli's control-plane client, as
`langgraph deploy` does) and waits until it is DEPLOYED, the platform keeping the live
revision until then and when the new one fails; `start` of an older version (a rollback)
ships that version's copy again, since the platform's client has no call that re-activates
an old revision. `cloud.log` records what deployer did (the platform's own logs:
`langgraph deploy logs`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from deployer.plugin import DeployFailedError, ProcessServerRunner, StrategyUnavailableError
from deployer_langgraph import availability
from deployer_langgraph.targets.common import HEALTH_TIMEOUT, LangGraphRunner

CLOUD_LOG = "cloud.log"
REVISION_KEYS = ("deployment_id", "revision_id", "revisions")  # kept across reconnects


class LangGraphCloudRunner(LangGraphRunner):
    """Runner of `langgraph` with target=cloud (and target=auto with a server URL)."""

    target_name = "cloud"

    # the same "not running; start it with ..." envelope as a local server's (core's, not a copy)
    not_running = ProcessServerRunner.not_running

    @property
    def endpoint(self) -> str | None:
        return self.state.get("url") or availability.cloud_url(self.context.options) or None

    @property
    def log_path(self) -> Path:
        self.context.runtime_dir.mkdir(parents=True, exist_ok=True)
        return self.context.runtime_dir / CLOUD_LOG

    def api_key(self) -> str | None:
        if self._auth() != "api_key":
            return None
        return availability.api_key(self.context.env, os.environ)

    def unavailable_reason(self) -> str | None:
        return None  # the server is not ours: `running` (checked by the base) is all we know

    # -- lifecycle ---------------------------------------------------------------------------

    def deploy(self) -> None:
        self.stop()
        graph_id = self.prepare_fresh()
        if self._deployment_id():
            self._ship_revision()
        self._connect(graph_id)

    def start(self) -> None:
        graph_id = self.recorded_graph()
        if self._deployment_id() and self._revision_replaced():
            self._ship_revision()  # a rollback: this version's code becomes live again
        self._connect(graph_id)

    def stop(self) -> None:
        """Refuse runs until start (the server is not ours to stop)."""
        self.close()
        if self.state:
            self.state["running"] = False

    def remove(self) -> None:
        """Stop; the cloud deployment itself is left as it is (deployer did not create it)."""
        self.stop()

    # -- connecting --------------------------------------------------------------------------

    # -- LangGraph Platform revisions -------------------------------------------------------

    def _deployment_id(self) -> str:
        return str(
            self.state.get("deployment_id") or self.context.options.get("deployment_id") or ""
        )

    def _control_plane(self) -> object:
        from deployer_langgraph import sdk

        key = availability.api_key(self.context.env, os.environ)
        if key is None:
            raise StrategyUnavailableError(
                "making LangGraph Platform revisions needs LANGSMITH_API_KEY",
                hint="export LANGSMITH_API_KEY=... (or pass it with --env)",
            )
        return sdk.control_plane(str(self.context.options.get("control_plane_url") or ""), key)

    def _ship_revision(self) -> None:
        """This version's adapted copy as a new revision of the platform deployment; the
        revision id is this version's record of it."""
        from deployer_langgraph import sdk

        deployment_id = self._deployment_id()
        client = self._control_plane()
        self._note(f"shipping {self.context.adapted_path.name} as a revision of {deployment_id}")
        try:
            made = sdk.ship_revision(
                client,
                deployment_id,
                self.context.adapted_path,
                timeout=self.context.startup_timeout,
            )
            url = self.state.get("url") or availability.cloud_url(self.context.options)
            url = url or sdk.deployment_url(client, deployment_id)
        except sdk.PlatformError as exc:
            self._note(f"failed: {exc}")
            raise DeployFailedError(
                str(exc), hint="langgraph deploy logs shows the build"
            ) from None
        self._note(f"revision {made['revision_id']} is {made['status']}")
        self.state.update(
            deployment_id=deployment_id,
            revision_id=made["revision_id"],
            revisions=[*self.state.get("revisions", []), made["revision_id"]],
            url=url,
        )
        self.save_state()

    def _revision_replaced(self) -> bool:
        """Whether the platform serves another revision than this version's."""
        from deployer_langgraph import sdk

        try:
            live = sdk.live_revision(self._control_plane(), self._deployment_id())
        except sdk.PlatformError as exc:
            raise DeployFailedError(str(exc)) from None
        return live != self.state.get("revision_id")

    def _auth(self) -> str:
        return str(self.state.get("auth") or self.context.options.get("auth") or "api_key")

    def _connect(self, graph_id: str) -> None:
        """Check the server answers and serves the graph; record it. Nothing is built."""
        ctx = self.context
        url = self.state.get("url") or availability.cloud_url(ctx.options)
        auth = self._auth()
        if not url:
            raise StrategyUnavailableError(
                "target cloud needs the URL of a LangGraph server",
                hint=f"pass --option url=https://... or set {availability.URL_ENV}",
            )
        if auth == "api_key" and availability.api_key(ctx.env, os.environ) is None:
            raise StrategyUnavailableError(
                f"target cloud needs an API key: LANGSMITH_API_KEY is not set (server {url})",
                hint="export LANGSMITH_API_KEY=...; or --option auth=none for a server "
                "without authentication",
            )
        self.close()
        revision = {k: self.state[k] for k in REVISION_KEYS if k in self.state}
        self.state = {
            "target": "cloud",
            "running": True,
            "url": url,
            "auth": auth,
            "graph_id": graph_id,
            "kind": None,
            **revision,
        }
        ship = (
            f"ship the adapted copy first: cd {ctx.adapted_path} && langgraph deploy "
            f"--name {ctx.name} (LangGraph Platform), or build it with `langgraph build` for a "
            "self-hosted server; then run `deployer start` or deploy again"
        )
        self._note(f"connecting to {url} (graph {graph_id!r}, auth {auth})")
        try:
            self._check_health(url)
            self.state["kind"] = self.learn_kind(graph_id, f"the LangGraph server at {url}", ship)
        except BaseException as exc:
            self.state["running"] = False
            self._note(f"failed: {exc}")
            raise
        self._note(f"ready: graph {graph_id!r} is served ({self.state['kind']}); {ship}")

    def _check_health(self, url: str) -> None:
        from deployer_langgraph.sdk import describe

        try:
            response = self.sdk_client().http.client.get("/ok", timeout=HEALTH_TIMEOUT)
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
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with self.log_path.open("a", encoding="utf-8") as handle:
            handle.write(f"[deployer-langgraph {stamp}] {line}\n")
