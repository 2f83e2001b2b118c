"""RayRunner: one Serve application on a Ray cluster, called over Serve's HTTP proxy.

State (saved after every change, so another process can reattach): the cluster address, the
application name, its route and HTTP port, and the pid / temp dir of a private cluster.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx

from deployer.plugin import (
    DeployFailedError,
    EnvelopeClient,
    Runner,
    RunnerError,
    failure,
    free_port,
    read_dependencies,
    require_pip,
    success,
    tail_lines,
)
from deployer_ray import cluster, sdk, workspace
from deployer_ray.availability import LOCAL, cluster_address

DEFAULT_HTTP_PORT = 8000
RAY_REQUIREMENT = re.compile(r"ray(\[[^\]]*\])?\s*([<>=!~;]|$)")
_UNITS = {"": 1, "k": 1000, "ki": 1024, "m": 1000**2, "mi": 1024**2, "g": 1000**3, "gi": 1024**3}


def memory_bytes(text: str) -> int:
    """'512Mi' / '2Gi' / '1G' / '1000' -> bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]i?)?\s*", text or "")
    if not match:
        raise DeployFailedError(f"memory {text!r} is not a size like 512Mi or 2Gi")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])


class RayRunner(Runner):
    capabilities: ClassVar[frozenset[str]] = frozenset({"logs", "restart", "stream"})

    def __init__(self, context: Any, state: dict[str, Any] | None = None) -> None:
        super().__init__(context, state)
        self.http = EnvelopeClient(
            lambda: self.endpoint, name=context.name, timeout=context.run_timeout
        )

    # -- options ------------------------------------------------------------------------------

    @property
    def app_name(self) -> str:
        """`deployer-<name>`; version k > 1 of a name is its own application beside the live
        one (`deployer-<name>-v<k>`), so a redeploy never touches the version serving."""
        if self.state.get("app_name"):
            return str(self.state["app_name"])
        version = self.context.version
        return f"deployer-{self.context.name}" + (f"-v{version}" if version > 1 else "")

    def route_prefix(self) -> str:
        """The application's HTTP route: `route_prefix` (default `/<name>`), and below it
        `/v<k>` for version k > 1 (Serve gives each route prefix to one application only)."""
        base = self.context.options.get("route_prefix") or f"/{self.context.name}"
        if self.context.version <= 1:
            return base
        return f"{base.rstrip('/')}/v{self.context.version}"

    def deployment_options(self) -> dict[str, Any]:
        """Serve deployment options of our generated deployment: the user's, else one replica."""
        result = self.given_options()
        if not result.get("autoscaling_config"):
            result.pop("autoscaling_config", None)
            result.setdefault("num_replicas", 1)
        result.setdefault("ray_actor_options", {})
        return result

    def given_options(self) -> dict[str, Any]:
        """Only the Serve options the user set (--option, the deployment's resources): what
        overrides a solution's own @serve.deployment options, which stay where none is set."""
        opts = self.context.options
        resources = self.context.resources
        actor: dict[str, Any] = {}
        cpus = opts.get("num_cpus") or resources.cpu
        if cpus:
            actor["num_cpus"] = float(cpus)
        gpus = opts.get("num_gpus") or (
            float(resources.gpu) if resources.gpu and resources.gpu.isdigit() else 0
        )
        if gpus:
            actor["num_gpus"] = float(gpus)
        memory = opts.get("memory") or resources.memory
        if memory:
            actor["memory"] = memory_bytes(str(memory))
        if opts.get("resources"):
            try:
                actor["resources"] = json.loads(str(opts["resources"]))
            except ValueError:
                raise DeployFailedError(
                    'the resources option is not JSON, e.g. {"node_b": 0.5}'
                ) from None
        result: dict[str, Any] = {"ray_actor_options": actor} if actor else {}
        if opts.get("autoscaling"):
            result["autoscaling_config"] = {
                "min_replicas": int(opts.get("min_replicas", 1)),
                "max_replicas": int(opts.get("max_replicas", 2)),
                "target_ongoing_requests": float(opts.get("target_ongoing_requests", 2)),
                "upscale_delay_s": 1.0,
                "downscale_delay_s": 5.0,
            }
        elif opts.get("num_replicas"):
            # a fixed count replaces the author's autoscaling, if any
            result.update(num_replicas=int(opts["num_replicas"]), autoscaling_config=None)
        if opts.get("max_ongoing_requests"):
            result["max_ongoing_requests"] = int(opts["max_ongoing_requests"])
        return result

    def pip_requirements(self) -> list[str]:
        """What `runtime_env` pip installs: the solution's requirements, less Ray itself."""
        deps = read_dependencies(Path(self.context.adapted_path))
        # the cluster's own Ray serves the replicas: a solution written for Serve lists
        # ray[serve], which runtime_env pip must not install over it
        return [line for line in deps.normalised if not RAY_REQUIREMENT.match(line)]

    def runtime_env(self) -> dict[str, Any]:
        env: dict[str, Any] = {"working_dir": str(self.context.adapted_path)}
        pip = self.pip_requirements()
        if pip:
            env["pip"] = pip
        # the replicas' print() and stderr (a load step's output, a traceback) go to Serve's
        # replica log, which `logs` reads, instead of the worker's stdout file
        env["env_vars"] = {"RAY_SERVE_LOG_TO_STDERR": "0", **self.context.env}
        return env

    # -- lifecycle ----------------------------------------------------------------------------

    def _ensure_cluster(self) -> str:
        if self.state.get("address"):
            if self.state.get("cluster_pid") and not cluster.node_alive(self.state["cluster_pid"]):
                raise RunnerError(
                    "the private Ray cluster of this deployment is gone",
                )
            return str(self.state["address"])
        address = cluster_address(self.context.options)
        if address == LOCAL:
            # Ray's AF_UNIX sockets live under the temp dir (107-byte path limit), so it is a
            # short private dir under the system temp dir, recorded in state, removed at remove.
            temp_dir = Path(tempfile.mkdtemp(prefix="deployer-ray-"))
            node = cluster.start_head(temp_dir, timeout=self.context.startup_timeout)
            self.state.update(cluster_pid=node.pid, cluster_temp_dir=node.temp_dir)
            address = node.address
        port = int(self.context.options.get("http_port") or 0)
        if not port:
            port = free_port() if self.state.get("cluster_pid") else DEFAULT_HTTP_PORT
        self.state.update(
            address=address,
            app_name=self.app_name,
            http_port=port,
            route_prefix=self.route_prefix(),
        )
        return address

    def check_private_cluster_can_install(self) -> None:
        """A private cluster runs on deployer's own Python; inside a virtual environment, Ray's
        `runtime_env` pip clones it and installs with its pip, so a venv without pip would fail
        deep inside Ray's setup, after the cluster started. A remote cluster has its own."""
        private = cluster_address(self.context.options) == LOCAL
        if private and sys.prefix != sys.base_prefix and self.pip_requirements():
            require_pip("installing the solution's requirements through Ray's runtime_env")

    def deploy(self) -> None:
        plan = workspace.prepare(Path(self.context.adapted_path), self.context.run_interface)
        if not self.state.get("address"):
            self.check_private_cluster_can_install()
        address = self._ensure_cluster()
        self.state.update(plan.as_state(), app_route=plan.route)
        self.save_state()
        sdk.connect(address, self.runtime_env())
        sdk.start_serve(int(self.state["http_port"]))
        workspace_path = Path(self.context.adapted_path)
        try:
            if plan.kind == "serve_app":  # the solution's own application, as written
                chosen = sdk.deploy_author_app(
                    workspace_path,
                    self.app_name,
                    self.state["route_prefix"],
                    self.context.run_interface.entrypoint,
                    self.given_options(),
                    address,
                    self.runtime_env(),
                )
                self.state["serve_options"] = chosen
            else:
                sdk.deploy(
                    workspace_path,
                    self.app_name,
                    self.state["route_prefix"],
                    self.deployment_options(),
                    address,
                    self.runtime_env(),
                    plan.deployment_class,
                )
        except DeployFailedError:
            sdk.delete(self.app_name)
            raise
        self.state["session_dirs"] = sdk.session_dirs()

    def start(self) -> None:
        self.deploy()

    def stop(self) -> None:
        if not self.state.get("address"):
            return
        if self.state.get("cluster_pid") and not cluster.node_alive(self.state["cluster_pid"]):
            return
        sdk.connect(self.state["address"])
        sdk.delete(self.app_name)

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            pid = self.state.pop("cluster_pid", None)
            if pid:
                sdk.disconnect()
                cluster.stop_node(int(pid))
                shutil.rmtree(self.state.pop("cluster_temp_dir", ""), ignore_errors=True)
            self.close()

    def close(self) -> None:
        self.http.close()

    # -- calls --------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str | None:
        if not self.state.get("http_port"):
            return None
        return f"http://127.0.0.1:{self.state['http_port']}{self.state['route_prefix']}"

    @property
    def provider(self) -> str | None:
        return "ray"

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if self.endpoint is None:
            return failure("the deployment is not deployed")
        if self.state.get("entry_kind") in ("asgi", "serve_app"):
            return self.run_asgi(inputs)
        return self.http.post_envelope("", inputs, on_transport_error=self.unreachable)

    def run_asgi(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """POST to the app's own route (an ASGI app's, or the ingress of the solution's own
        Serve application); its JSON answer is the output, an HTTP error the error."""
        url = f"{self.endpoint}{self.state.get('app_route') or '/'}"
        try:
            response = self.http.client.post(url, json=inputs)
        except httpx.HTTPError as exc:
            return self.unreachable(exc)
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        if response.is_success:
            return success(body)
        return failure(f"the app answered HTTP {response.status_code}: {str(body)[:500]}")

    def stream(self, inputs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Items of a generator entry point as the replica yields them (NDJSON over Serve)."""
        if self.endpoint is None or self.state.get("entry_kind") in ("asgi", "serve_app"):
            yield self.run(inputs)
            return
        yield from self.http.stream_envelopes("", inputs)

    def unreachable(self, exc: httpx.HTTPError) -> dict[str, Any]:
        return failure(f"Ray Serve did not answer at {self.endpoint}: {type(exc).__name__}")

    def is_healthy(self) -> bool:
        if not self.state.get("address"):
            return False
        if self.state.get("cluster_pid") and not cluster.node_alive(self.state["cluster_pid"]):
            return False
        try:
            sdk.connect(self.state["address"])
            return sdk.app_status(self.app_name)["status"] == "RUNNING"
        except RunnerError:
            return False

    def details(self) -> dict[str, Any]:
        """For `deployer status`: Serve's status of the app, its replica count and their nodes."""
        sdk.connect(self.state["address"])
        status = sdk.app_status(self.app_name)
        return {
            "serve_status": status["status"],
            "replicas": status["replicas"],
            "replica_nodes": sdk.replica_nodes(self.app_name),
            "cluster": self.state["address"],
            "entry_kind": self.state.get("entry_kind", "function"),
            **(
                {"serve_options": self.state["serve_options"]}
                if "serve_options" in self.state
                else {}
            ),
        }

    def logs(self, tail: int | None = None) -> str:
        """The replica logs Serve writes under each node's session dir (logs/serve/): the
        replicas' own lines, their print() and stderr (RAY_SERVE_LOG_TO_STDERR=0), and Serve's
        access lines. Nodes on other machines keep theirs (see the Ray dashboard there)."""
        key = f"replica_{self.app_name}_"
        parts = []
        for session in self.state.get("session_dirs") or []:
            folder = Path(session) / "logs" / "serve"
            for path in sorted(folder.glob(f"{key}*.log")) if folder.is_dir() else []:
                parts.append(path.read_text(encoding="utf-8", errors="replace"))
        return tail_lines("".join(parts), tail)
