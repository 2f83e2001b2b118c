"""DockerRunner: the adapted workspace built into an image and run as a container.

deploy: (wheelhouse) -> build with the SDK, the log streamed as progress -> run detached under
a unique name with env, limits and labels -> wait for /health. The state (image and container
ids, network mode, port) is all another process needs to reattach: `deployer run/stop/start/rm`
in a new process talk to the same container. The docker SDK is imported by `sdk` only when a
method needs the engine; `run` itself needs only httpx.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, ClassVar

import httpx

from deployer.errors import DeployerError, DeployFailedError, RunnerError
from deployer.runtime.runner import Runner, RunnerContext, RunnerStatus, failure, success
from deployer_docker import container as ct
from deployer_docker import sdk
from deployer_docker.build import build_image
from deployer_docker.engine import docker_host, is_local, published_host
from deployer_docker.requirements import OUTPUT_FILE, read_requirements

logger = logging.getLogger("deployer_docker")

BUILD_LOG = "build.log"
WHEELS_DIR = "deployer-wheels"
DEFAULT_BASE_IMAGE = "python:3.11-slim"
HEALTH_TIMEOUT = 2.0
POLL_INTERVAL = 0.2
STOP_TIMEOUT = 10
PORT_ATTEMPTS = 3
RETRY_WINDOW = 10.0  # seconds run() retries connection errors while the container runs
LOG_LINES_IN_ERRORS = 20


class _PortTaken(Exception):
    """The server in a host-network container found its port taken: try another."""


def _log_progress(step: str) -> None:
    logger.info("%s", step)


class DockerRunner(Runner):
    """Runner of the `docker` strategy; see the module docstring."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"logs", "restart"})

    def __init__(self, context: RunnerContext, state: dict[str, Any] | None = None) -> None:
        super().__init__(context, state)
        self._docker_client: Any = None
        self._client: httpx.Client | None = None

    def progress(self, step: str) -> None:
        """Build and start-up steps go to the `deployer_docker` logger and, where the caller
        shows progress (the CLI's spinner), there too."""
        _log_progress(step)
        if self.context.progress is not None:
            self.context.progress(step)

    # -- small accessors -----------------------------------------------------------------------

    @property
    def options(self) -> dict[str, Any]:
        return self.context.options

    @property
    def runtime_dir(self) -> Path:
        self.context.runtime_dir.mkdir(parents=True, exist_ok=True)
        return self.context.runtime_dir

    @property
    def endpoint(self) -> str | None:
        port = self.state.get("port")
        host = self.state.get("host")
        return f"http://{host}:{port}" if port and host else None

    @property
    def provider(self) -> str | None:
        host = docker_host()
        return "docker" if is_local(host) else f"docker ({host})"

    def _docker(self, error: type[DeployerError] = RunnerError) -> Any:
        if self._docker_client is None:
            self._docker_client = sdk.connect(error)
        return self._docker_client

    def _http(self) -> httpx.Client:
        """One client per runner: consecutive runs reuse the keep-alive connection."""
        if self._client is None:
            timeout = httpx.Timeout(self.context.run_timeout, connect=5.0)
            self._client = httpx.Client(trust_env=False, timeout=timeout)
        return self._client

    def close(self) -> None:
        """Release connections (the container keeps running)."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._docker_client is not None:
            self._docker_client.close()
            self._docker_client = None

    # -- deploy --------------------------------------------------------------------------------

    def deploy(self) -> None:
        workspace = self.context.adapted_path
        mode = ct.dockerfile_mode(workspace)
        predict_path = str(self.options.get("predict_path") or "")
        if mode == "own" and not predict_path:
            raise DeployFailedError(
                "the solution ships its own Dockerfile, so deployer does not know which HTTP "
                "path takes the inputs",
                hint="pass --option predict_path=/predict (the path that accepts a POSTed JSON "
                "object), and optionally health_path and container_port",
            )
        client = self._docker(DeployFailedError)
        if self.state.get("container_id"):
            self._remove_container(client)
        network = self._network_mode(client)
        base_image = str(self.options.get("base_image") or DEFAULT_BASE_IMAGE)
        buildargs: dict[str, str] = {}
        if mode == "generated":
            buildargs = self._prepare_context(client, base_image)
        elif base_image != DEFAULT_BASE_IMAGE:
            buildargs["BASE_IMAGE"] = base_image  # for Dockerfiles that take ARG BASE_IMAGE
        tag = ct.image_tag(self.context.name)
        image_id = build_image(
            client,
            workspace,
            tag=tag,
            log_path=self.runtime_dir / BUILD_LOG,
            progress=self.progress,
            buildargs=buildargs,
            network_mode="host" if network == "host" else None,
            base_image=base_image,
        )
        self.state = {
            "mode": mode,
            "image_id": image_id,
            "image_tag": tag,
            "network_mode": network,
            "host": published_host(docker_host()),
            "predict_path": predict_path or "/run",
            "health_path": self._health_path(mode),
            "container_id": None,
            "container_name": None,
            "container_port": None,
            "port": None,
        }
        self._create_and_wait(client)

    def _network_mode(self, client: Any) -> str:
        wanted = str(self.options.get("network_mode") or "auto")
        has_bridge = sdk.has_network(client, "bridge")
        if wanted == "auto":
            return "bridge" if has_bridge else "host"
        if wanted == "bridge" and not has_bridge:
            raise DeployFailedError(
                "network_mode=bridge, but this Docker engine has no bridge network (dockerd "
                "runs with --bridge=none)",
                hint="use --option network_mode=host (or auto)",
            )
        return wanted

    def _health_path(self, mode: str) -> str:
        if mode == "generated":
            return "/health"
        return str(self.options.get("health_path") or "")

    def _prepare_context(self, client: Any, base_image: str) -> dict[str, str]:
        """Write deployer-requirements.txt and, with the wheelhouse option, the wheels."""
        from deployer_docker import wheelhouse as wh

        workspace = self.context.adapted_path
        requirements = read_requirements(workspace)
        use_wheelhouse = bool(self.options.get("wheelhouse"))
        text = requirements.text(with_index_options=not use_wheelhouse)
        if use_wheelhouse and text:
            text = f"--no-index\n--find-links /opt/deployer\n{text}"
        (workspace / OUTPUT_FILE).write_text(text, encoding="utf-8")
        (workspace / WHEELS_DIR).mkdir(exist_ok=True)
        buildargs = {"BASE_IMAGE": base_image}
        if use_wheelhouse and not requirements.empty:
            target = self._probe_python(client, base_image)
            log_path = self.runtime_dir / "wheelhouse.log"
            self.progress(f"downloading wheels for Python {target.version} (wheelhouse)")
            house = wh.build_wheelhouse(
                requirements.text(with_index_options=True), target, log_path
            )
            names = wh.fill_context(house, workspace / WHEELS_DIR)
            self.progress(f"wheelhouse ready: {len(names)} wheels")
        return buildargs

    def _probe_python(self, client: Any, base_image: str) -> Any:
        """The base image's Python (version, libc, machine), cached by image id."""
        from deployer.paths import cache_dir
        from deployer_docker import wheelhouse as wh

        try:
            image = client.images.get(base_image)
        except Exception as exc:
            if not sdk.is_not_found(exc):
                raise DeployFailedError(
                    f"cannot inspect the base image {base_image!r}: {sdk.describe(exc)}"
                ) from None
            image = self._pull(client, base_image)
        cache = cache_dir("docker-probes") / f"{image.id.replace(':', '-')}.json"
        if cache.is_file():
            return wh.Target.parse(cache.read_text(encoding="utf-8"))
        self.progress(f"checking the Python of {base_image}")
        try:
            output = client.containers.run(
                image.id, ["python3", "-c", wh.PROBE], remove=True, network_mode="none"
            )
            text = output.decode("utf-8", errors="replace")
            target = wh.Target.parse(text)
        except Exception as exc:
            raise DeployFailedError(
                f"the base image {base_image!r} has no working python3: {sdk.describe(exc)}",
                hint="the base image needs python3 with the venv module "
                "(e.g. python:3.11-slim, or Debian's python3 + python3-venv)",
            ) from None
        cache.write_text(text, encoding="utf-8")
        return target

    def _pull(self, client: Any, base_image: str) -> Any:
        self.progress(f"pulling {base_image}")
        try:
            return client.images.pull(base_image)
        except Exception as exc:
            raise DeployFailedError(
                f"the base image {base_image!r} is not on the engine and cannot be pulled: "
                f"{sdk.describe(exc)}",
                hint="load or build it first, or pass --option base_image=<an image the engine "
                "has>",
            ) from None

    # -- containers ----------------------------------------------------------------------------

    def _environment(self, port: int, bind: str) -> dict[str, str]:
        env = dict(self.context.env)
        env.update(DEPLOYER_PORT=str(port), DEPLOYER_BIND=bind, PORT=str(port))
        return env

    def _container_port(self, client: Any) -> int:
        """The port the server listens on inside the container (bridge network)."""
        if self.state["mode"] == "generated":
            return ct.SERVER_PORT
        chosen = int(self.options.get("container_port") or 0)
        if chosen:
            return chosen
        try:
            exposed = ct.exposed_port(client.images.get(self.state["image_id"]))
        except Exception as exc:
            raise DeployFailedError(
                f"cannot inspect the built image: {sdk.describe(exc)}"
            ) from None
        if exposed is None:
            raise DeployFailedError(
                "the solution's Dockerfile EXPOSEs no port, so deployer does not know where "
                "its server listens",
                hint="pass --option container_port=8000 (the port the app listens on)",
            )
        return exposed

    def _create(self, client: Any) -> Any:
        """Create and start a new container from the recorded image."""
        network = self.state["network_mode"]
        local = is_local(docker_host())
        kwargs: dict[str, Any] = {}
        if network == "host":
            own_port = int(self.options.get("container_port") or 0)
            port = own_port if self.state["mode"] == "own" and own_port else ct.free_port()
            env = self._environment(port, "127.0.0.1" if local else "0.0.0.0")
            self.state.update(container_port=port, port=port)
        else:
            port = self._container_port(client)
            env = self._environment(port, "0.0.0.0")
            # None: the engine picks a free host port; published on loopback for local engines
            kwargs["ports"] = {f"{port}/tcp": ("127.0.0.1" if local else "0.0.0.0", None)}
            self.state.update(container_port=port, port=None)
        cpus = float(self.options.get("cpus") or 0) or self.context.resources.cpu
        memory = str(self.options.get("memory") or "") or self.context.resources.memory
        name = ct.container_name(self.context.name)
        try:
            container = client.containers.create(
                self.state["image_id"],
                name=name,
                environment=env,
                labels=ct.labels(self.context.name, self.context.adapted_path),
                network_mode=network,
                **ct.limits(cpus, memory),
                **kwargs,
            )
        except Exception as exc:
            raise DeployFailedError(
                f"creating the container failed: {sdk.describe(exc)}",
                hint="check the cpus/memory options against what the engine has",
            ) from None
        # recorded before starting: a container that fails to start is still removed later
        self.state.update(container_id=container.id, container_name=name)
        try:
            container.start()
        except Exception as exc:
            raise DeployFailedError(
                f"starting container {name} failed: {sdk.describe(exc)}",
                hint=f"full output: deployer logs {self.context.name}",
            ) from None
        return container

    def _create_and_wait(self, client: Any) -> None:
        for attempt in range(PORT_ATTEMPTS):
            container = self._create(client)
            self.progress(f"starting container {self.state['container_name']}")
            try:
                self._wait_ready(container)
                return
            except _PortTaken:
                self._remove_container(client)
                if attempt == PORT_ATTEMPTS - 1:
                    raise DeployFailedError(
                        f"the server of {self.context.name} found its port taken "
                        f"{PORT_ATTEMPTS} times in a row"
                    ) from None

    def _wait_ready(self, container: Any) -> None:
        """Block until the server answers its health check; raise with the logs if the
        container exits or the start-up timeout passes."""
        timeout = self.context.startup_timeout
        deadline = time.monotonic() + timeout
        self.close_http()
        while True:
            try:
                container.reload()
            except Exception as exc:
                raise DeployFailedError(
                    f"the container of {self.context.name} vanished during start-up: "
                    f"{sdk.describe(exc)}"
                ) from None
            if container.status in {"exited", "dead"}:
                code, meaning = ct.exit_reason(container)
                if (
                    code == ct.EXIT_PORT_IN_USE
                    and self.state["mode"] == "generated"
                    and self.state["network_mode"] == "host"
                ):
                    raise _PortTaken()
                raise DeployFailedError(
                    f"the container of {self.context.name} exited during start-up with code "
                    f"{code}{f' ({meaning})' if meaning else ''}; its last lines:\n"
                    + self._log_excerpt(container),
                    hint=f"full output: deployer logs {self.context.name}",
                )
            if self.state["network_mode"] != "host" and not self.state.get("port"):
                self.state["port"] = ct.published_port(container, self.state["container_port"])
            if self.state.get("port") and container.status == "running" and self._answers():
                return
            if time.monotonic() > deadline:
                hint = f"full output: deployer logs {self.context.name}"
                if self.state["mode"] == "own":
                    hint = (
                        "does the app listen on the port deployer expects (it sets $PORT; see "
                        f"--option container_port)? {hint}"
                    )
                raise DeployFailedError(
                    f"the container of {self.context.name} did not become healthy within "
                    f"{timeout:g}s; its last lines:\n" + self._log_excerpt(container),
                    hint=hint,
                )
            time.sleep(POLL_INTERVAL)

    def _log_excerpt(self, container: Any) -> str:
        try:
            text = ct.logs_text(container, LOG_LINES_IN_ERRORS)
        except Exception as exc:
            return f"  (logs unavailable: {sdk.describe(exc)})"
        lines = text.rstrip().splitlines() or ["(no output)"]
        return "\n".join(f"  | {line}" for line in lines)

    def _answers(self) -> bool:
        """The server's own health check: /health for ours, health_path (or any answer on /)
        for a solution's own app."""
        path = self.state.get("health_path") or ""
        try:
            response = self._http().get(f"{self.endpoint}{path or '/'}", timeout=HEALTH_TIMEOUT)
        except httpx.HTTPError:
            return False
        if path:
            return 200 <= response.status_code < 300
        return True  # an own app without health_path: any HTTP answer means it is up

    def close_http(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _current_container(self, client: Any) -> Any | None:
        try:
            return sdk.get_container(client, self.state.get("container_id"))
        except Exception as exc:
            raise RunnerError(
                f"cannot inspect the container of {self.context.name}: {sdk.describe(exc)}"
            ) from None

    def _remove_container(self, client: Any) -> None:
        container = self._current_container(client)
        if container is not None:
            try:
                container.remove(force=True)
            except Exception as exc:
                if not sdk.is_not_found(exc):
                    raise RunnerError(
                        f"removing container {self.state.get('container_name')} failed: "
                        f"{sdk.describe(exc)}"
                    ) from None
        self.state.update(container_id=None, container_name=None, port=None)
        self.close_http()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if not self.state.get("image_id"):
            self.deploy()
            return
        client = self._docker(DeployFailedError)
        container = self._current_container(client)
        if container is None:
            if not self._image_exists(client):
                self.deploy()  # image removed too: build again
                return
            self._create_and_wait(client)
            return
        if container.status != "running":
            self.progress(f"starting container {self.state.get('container_name')}")
            if self.state["network_mode"] != "host":
                self.state["port"] = None  # the engine publishes on a new port
            try:
                container.start()
            except Exception as exc:
                raise DeployFailedError(
                    f"starting container {self.state.get('container_name')} failed: "
                    f"{sdk.describe(exc)}"
                ) from None
        self._wait_ready(container)

    def _image_exists(self, client: Any) -> bool:
        try:
            client.images.get(self.state["image_id"])
        except Exception as exc:
            if sdk.is_not_found(exc):
                return False
            raise DeployFailedError(f"cannot inspect the image: {sdk.describe(exc)}") from None
        return True

    def stop(self) -> None:
        if not self.state.get("container_id"):
            return
        client = self._docker(RunnerError)
        container = self._current_container(client)
        self.close_http()
        if container is None:
            self.state.update(container_id=None, container_name=None, port=None)
            return
        if container.status in {"running", "restarting", "paused"}:
            try:
                container.stop(timeout=STOP_TIMEOUT)
            except Exception as exc:
                if not sdk.is_not_found(exc):
                    raise RunnerError(
                        f"stopping container {self.state.get('container_name')} failed: "
                        f"{sdk.describe(exc)}"
                    ) from None
        if self.state.get("network_mode") != "host":
            self.state["port"] = None

    def remove(self, image: bool | None = None) -> None:
        """Remove the container; the image too when asked (or with --option remove_image)."""
        if not self.state.get("container_id") and not self.state.get("image_id"):
            self.close()
            return
        client = self._docker(RunnerError)
        self._remove_container(client)
        remove_image = bool(self.options.get("remove_image")) if image is None else image
        image_id = self.state.get("image_id")
        if remove_image and image_id:
            try:
                client.images.remove(image_id, force=True)
            except Exception as exc:
                if not sdk.is_not_found(exc):
                    raise RunnerError(
                        f"removing image {self.state.get('image_tag')} failed: {sdk.describe(exc)}"
                    ) from None
            self.state.update(image_id=None)
        self.close()

    # -- calls ---------------------------------------------------------------------------------

    def _not_running(self, reason: str) -> dict[str, Any]:
        name = self.context.name
        return failure(
            f"deployment {name} is not running ({reason}); start it with `deployer start {name}`"
        )

    def _container_running(self) -> bool:
        try:
            container = self._current_container(self._docker(RunnerError))
        except DeployerError:
            return False
        return container is not None and container.status == "running"

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(inputs, dict):
            return failure(f"inputs must be a JSON object, got {type(inputs).__name__}")
        if not self.state.get("container_id") or not self.endpoint:
            return self._not_running("it is stopped")
        try:
            body = json.dumps(inputs).encode("utf-8")
        except (TypeError, ValueError) as exc:
            return failure(f"inputs are not JSON-serialisable: {exc}")
        url = f"{self.endpoint}{self.state.get('predict_path') or '/run'}"
        deadline = time.monotonic() + RETRY_WINDOW
        delay = 0.1
        while True:
            try:
                response = self._http().post(
                    url, content=body, headers={"Content-Type": "application/json"}
                )
                break
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                # refused or reset: the server is (re)starting, or a kept-alive connection
                # died with a restart; the request was not processed, so retrying is safe
                self.close_http()
                if not self._container_running():
                    return self._not_running("its container has stopped")
                if time.monotonic() + delay > deadline:
                    return failure(
                        f"cannot reach deployment {self.context.name} at {self.endpoint}: "
                        f"{type(exc).__name__}: {exc}"
                    )
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
            except httpx.TimeoutException:
                return failure(
                    f"deployment {self.context.name} did not answer within "
                    f"{self.context.run_timeout:g}s (the run timeout); the call may still be "
                    "running in the container"
                )
            except httpx.HTTPError as exc:
                return failure(
                    f"calling deployment {self.context.name} failed: {type(exc).__name__}: {exc}"
                )
        return self._envelope(response)

    def _envelope(self, response: httpx.Response) -> dict[str, Any]:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if self.state.get("mode") == "own":
            if 200 <= response.status_code < 300:
                return success(payload if payload is not None else response.text)
            return failure(f"the app answered HTTP {response.status_code}: {response.text[:500]}")
        if isinstance(payload, dict) and payload.get("status") in {"success", "error"}:
            return payload
        return failure(
            f"unexpected answer from the container of {self.context.name}: "
            f"HTTP {response.status_code} {response.text[:200]!r}"
        )

    # -- health, status, logs ------------------------------------------------------------------

    def is_healthy(self) -> bool:
        try:
            if not self.state.get("container_id") or not self.endpoint:
                return False
            container = self._current_container(self._docker(RunnerError))
            if container is None or container.status != "running":
                return False
            health = (container.attrs.get("State") or {}).get("Health") or {}
            if health.get("Status") == "unhealthy":
                return False
            return self._answers()
        except Exception:
            return False

    def status(self) -> RunnerStatus:
        if not self.state.get("container_id"):
            return "stopped"
        try:
            container = self._current_container(self._docker(RunnerError))
        except DeployerError:
            return "failed"
        if container is None:
            return "failed"
        if container.status == "exited":
            code, _ = ct.exit_reason(container)
            # stopped by `deployer stop`: SIGTERM handled (0) or the stop timeout's SIGKILL
            return "stopped" if code in {0, 137, 143} else "failed"
        return "running" if self.is_healthy() else "failed"

    def logs(self, tail: int | None = None) -> str:
        """The container's output (stdout and stderr); the build log if there is no container."""
        if self.state.get("container_id"):
            client = self._docker(RunnerError)
            container = self._current_container(client)
            if container is not None:
                try:
                    return ct.logs_text(container, tail)
                except Exception as exc:
                    raise RunnerError(
                        f"reading the logs of {self.state.get('container_name')} failed: "
                        f"{sdk.describe(exc)}"
                    ) from None
        build_log = self.runtime_dir / BUILD_LOG
        if build_log.is_file():
            from deployer.runtime.runner import tail_lines

            return tail_lines(build_log.read_text(encoding="utf-8", errors="replace"), tail)
        return ""
