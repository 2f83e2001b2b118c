"""DockerRunner: the adapted workspace built into an image and run as a container.

deploy: (wheelhouse) -> build with the SDK, the log streamed as progress -> run detached under
a unique name with env, limits and labels -> wait for /readyz. The generated image serves the
entry point with core's serving runtime (`python -m deployer_runtime serve`): it listens on
0.0.0.0 inside the container (on a bridge network; the port is published on 127.0.0.1 of a
local engine's host) and refuses every request without the deployment's bearer token, which is
random per deploy, kept 0600 in the runtime directory (never in the state store) and handed to
the container in its environment, never baked into the image. The state (image and container
ids, network mode, port) is all another process needs to reattach: `deployer run/stop/start/rm`
in a new process talk to the same container. The docker SDK is imported by `sdk` only when a
method needs the engine; `run` itself needs only core's EnvelopeClient (httpx).

One class serves a local engine and a remote one: the only difference is DOCKER_HOST, which
decides the address the server binds and is published on (`availability.is_local`).
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from deployer.plugin import (
    SERVED_PATHS,
    Connection,
    DeployerError,
    DeployFailedError,
    EnvelopeClient,
    PortRaceError,
    ProbeError,
    Readiness,
    Runner,
    RunnerContext,
    RunnerError,
    RunnerStatus,
    dependency_manifest,
    failure,
    free_port,
    missing_module_hint,
    root_cause,
    success,
    tail_lines,
)
from deployer.plugin import port_taken as listened_on
from deployer_docker import container as ct
from deployer_docker import sdk, workspace
from deployer_docker.availability import docker_host, is_local, published_host
from deployer_docker.build import build_image

logger = logging.getLogger("deployer_docker")

BUILD_LOG = "build.log"
TOKEN_FILE = "server.token"
TOKEN_ENV = "DEPLOYER_RUNTIME_TOKEN"  # read (and dropped) by the runtime before the solution
HEALTH_TIMEOUT = 2.0
# The runtime answers a run past the timeout itself (504 envelope); the client waits a little
# longer so that answer, not a client-side timeout, is what the caller sees.
CLIENT_GRACE = 5.0
PORT_TAKEN = ("port is already allocated", "address already in use")
POLL_INTERVAL = 0.2
STOP_TIMEOUT = 10
PORT_ATTEMPTS = 3
RETRY_WINDOW = 10.0  # seconds run() retries connection errors while the container runs
LOG_LINES_IN_ERRORS = 20
# refused or reset: the server is (re)starting, or a kept-alive connection died with a
# restart; the request was not processed, so retrying is safe
RETRYABLE = (httpx.ConnectError, httpx.RemoteProtocolError)


class OwnAppClient(EnvelopeClient):
    """A solution's own app (its own Dockerfile) answers plain JSON or text, not envelopes."""

    def envelope_of(self, response: httpx.Response) -> dict[str, Any]:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if 200 <= response.status_code < 300:
            return success(payload if payload is not None else response.text)
        return failure(f"the app answered HTTP {response.status_code}: {response.text[:500]}")


def _log_progress(step: str) -> None:
    logger.info("%s", step)


class DockerRunner(Runner):
    """Runner of the `docker` strategy; see the module docstring."""

    def __init__(self, context: RunnerContext, state: dict[str, Any] | None = None) -> None:
        super().__init__(context, state)
        self._docker_client: Any = None
        self._client: EnvelopeClient | None = None

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

    @property
    def token_file(self) -> Path:
        return self.runtime_dir / TOKEN_FILE

    def _token(self) -> str | None:
        try:
            token = self.token_file.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return token or None

    def _new_token(self) -> str:
        """A fresh random token for this deployment, written 0600 (created so, never widened)."""
        token = secrets.token_urlsafe(32)
        self.token_file.unlink(missing_ok=True)
        descriptor = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(token + "\n")
        self.close_http()
        return token

    @property
    def http(self) -> EnvelopeClient:
        """One client per container start: consecutive runs reuse the keep-alive connection.
        Ours carries the bearer token; a solution's own app gets no header of ours."""
        if self._client is None:
            if self.state.get("mode") == "own":
                self._client = OwnAppClient(
                    lambda: self.endpoint, name=self.context.name, timeout=self.context.run_timeout
                )
            else:
                token = self._token()
                self._client = EnvelopeClient(
                    lambda: self.endpoint,
                    name=self.context.name,
                    timeout=self.context.run_timeout + CLIENT_GRACE,
                    headers={"Authorization": f"Bearer {token}"} if token else {},
                )
        return self._client

    def close(self) -> None:
        """Release connections (the container keeps running)."""
        self.close_http()
        if self._docker_client is not None:
            self._docker_client.close()
            self._docker_client = None

    # -- deploy --------------------------------------------------------------------------------

    def deploy(self) -> None:
        mode = workspace.dockerfile_mode(self.context.adapted_path)
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
        base_image = str(self.options.get("base_image") or workspace.DEFAULT_BASE_IMAGE)
        buildargs: dict[str, str] = {}
        if mode == "generated":
            buildargs = workspace.prepare(
                self.context, client, base_image, self.runtime_dir, self.progress
            )
            self._new_token()
        elif base_image != workspace.DEFAULT_BASE_IMAGE:
            buildargs["BASE_IMAGE"] = base_image  # for Dockerfiles that take ARG BASE_IMAGE
        tag = ct.image_tag(self.context.name, self.context.version)
        image_id = build_image(
            client,
            self.context.adapted_path,
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
        self.save_state()  # a deploy killed from here on leaves an image `rm` can find
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
            return "/readyz"  # 503 while the entry point loads, 200 once it is ready
        return str(self.options.get("health_path") or "")

    # -- containers ----------------------------------------------------------------------------

    def _environment(self, port: int, bind: str) -> dict[str, str]:
        env = dict(self.context.env)
        env.update(DEPLOYER_PORT=str(port), DEPLOYER_BIND=bind, PORT=str(port))
        if self.state["mode"] == "generated":
            token = self._token() or self._new_token()
            env[TOKEN_ENV] = token
        return env

    def _serve_command(self, port: int, bind: str, allowed_hosts: list[str]) -> list[str]:
        """The runtime's command line for this container: address, port, the Host values the
        runner's requests carry (the published address), limits."""
        command = [
            "python", "-m", "deployer_runtime", "serve", "--host", bind, "--port", str(port),
            "--fail-fast-load", "--run-timeout", f"{self.context.run_timeout:g}",
        ]  # fmt: skip
        for host in allowed_hosts:
            command += ["--allow-host", host]
        return command

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
        generated = self.state["mode"] == "generated"
        host = self.state.get("host") or published_host(docker_host())
        if network == "host":
            fixed = 0 if generated else int(self.options.get("container_port") or 0)
            if fixed and local and listened_on(fixed):
                raise self._host_port_in_use(fixed)
            port = fixed or free_port()
            bind = "127.0.0.1" if local else "0.0.0.0"
            env = self._environment(port, bind)
            allowed = [] if local else [f"{host}:{port}"]
            self.state.update(container_port=port, port=port)
        else:
            port = self._container_port(client)
            bind = "0.0.0.0"
            env = self._environment(port, bind)
            # a local engine publishes on a free port of 127.0.0.1 that we pick, so the runtime
            # can accept exactly that Host; a remote engine picks the port itself
            published = free_port() if local else None
            kwargs["ports"] = {f"{port}/tcp": ("127.0.0.1" if local else "0.0.0.0", published)}
            allowed = [f"127.0.0.1:{published}", f"localhost:{published}"] if local else ["*"]
            self.state.update(container_port=port, port=published)
        if generated:
            kwargs["command"] = self._serve_command(port, bind, allowed)
        cpus = float(self.options.get("cpus") or 0) or self.context.resources.cpu
        memory = str(self.options.get("memory") or "") or self.context.resources.memory
        name = ct.container_name(self.context.name)
        try:
            container = client.containers.create(
                self.state["image_id"],
                name=name,
                environment=env,
                labels=ct.labels(
                    self.context.name, self.context.adapted_path, self.context.version
                ),
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
        self.save_state()
        try:
            container.start()
        except Exception as exc:
            if port_taken(exc):
                raise PortRaceError(f"the port of {name} was taken before it started") from None
            raise DeployFailedError(
                f"starting container {name} failed: {sdk.describe(exc)}",
                hint=f"full output: deployer logs {self.context.name}",
            ) from None
        return container

    def _host_port_in_use(self, port: int) -> DeployFailedError:
        """On the host network a fixed container_port is the host's own port, which every
        version of the name (and anything else on the host) would share."""
        version = self.context.version
        holder = (
            f"version {version - 1} of {self.context.name} may still be listening there"
            if version and version > 1
            else "something else on this host listens there"
        )
        return DeployFailedError(
            f"port {port} (--option container_port) is already in use: on the host network "
            f"the container listens on the host's own port, and {holder}",
            hint="use --option network_mode=bridge (each version gets its own host port), or "
            "container_port=0 so the app listens on the free port deployer gives it in $PORT",
        )

    def _create_and_wait(self, client: Any) -> None:
        for attempt in range(PORT_ATTEMPTS):
            try:
                container = self._create(client)
                self.progress(f"starting container {self.state['container_name']}")
                self._wait_ready(container)
                return
            except PortRaceError:
                self._remove_container(client)
                if attempt == PORT_ATTEMPTS - 1:
                    raise DeployFailedError(
                        f"the server of {self.context.name} found its port taken "
                        f"{PORT_ATTEMPTS} times in a row"
                    ) from None

    def _wait_ready(self, container: Any) -> None:
        """Block until the server answers its readiness check (the runtime's /readyz says 503
        while the entry point loads); raise with the logs if the container exits or the
        start-up timeout passes."""
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
                    raise PortRaceError(f"the server of {self.context.name} found its port taken")
                excerpt = self._log_excerpt(container)
                cause = root_cause(excerpt.replace("  | ", ""))
                hint = missing_module_hint(cause, dependency_manifest(self.context.adapted_path))
                raise DeployFailedError(
                    f"the container of {self.context.name} exited during start-up with code "
                    f"{code}{f' ({meaning})' if meaning else ''}"
                    + (f": {cause}" if cause else "")
                    + "; its last lines:\n"
                    + excerpt,
                    hint=(f"{hint}; " if hint else "")
                    + f"full output: deployer logs {self.context.name}",
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
                    f"the container of {self.context.name} did not become ready within "
                    f"{timeout:g}s; its last lines:\n" + self._log_excerpt(container),
                    hint=hint,
                )
            time.sleep(POLL_INTERVAL)

    def _log_excerpt(self, container: Any) -> str:
        try:
            text = sdk.logs_text(container, LOG_LINES_IN_ERRORS)
        except Exception as exc:
            return f"  (logs unavailable: {sdk.describe(exc)})"
        lines = text.rstrip().splitlines() or ["(no output)"]
        return "\n".join(f"  | {line}" for line in lines)

    def _answers(self) -> bool:
        """The server's own readiness check: /readyz (with the token) for the runtime,
        health_path (or any answer on /) for a solution's own app."""
        path = self.state.get("health_path") or ""
        try:
            response = self.http.get(path or "/", timeout=HEALTH_TIMEOUT)
        except ProbeError:
            return False
        if path:
            return 200 <= response.status_code < 300
        return True  # an own app without health_path: any HTTP answer means it is up

    def close_http(self) -> None:
        """Drop the HTTP client: the next container (or Dockerfile kind) gets a fresh one."""
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
            if not sdk.image_exists(client, self.state["image_id"]):
                self.deploy()  # image removed too: build again
                return
            self._create_and_wait(client)
            return
        if self.state.get("mode") == "generated" and not self._token():
            self._remove_container(client)  # its token is lost: a new container, a new token
            self._create_and_wait(client)
            return
        if container.status != "running":
            self.progress(f"starting container {self.state.get('container_name')}")
            if self.state["network_mode"] != "host" and not is_local(docker_host()):
                self.state["port"] = None  # a remote engine publishes on a new port
            try:
                container.start()
            except Exception as exc:
                if port_taken(exc):  # our published port went to someone else meanwhile
                    self._remove_container(client)
                    self._create_and_wait(client)
                    return
                raise DeployFailedError(
                    f"starting container {self.state.get('container_name')} failed: "
                    f"{sdk.describe(exc)}"
                ) from None
        try:
            self._wait_ready(container)
        except PortRaceError:  # its port (host network) went to another server meanwhile
            self._remove_container(client)
            self._create_and_wait(client)

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
        if self.state.get("network_mode") != "host" and not is_local(docker_host()):
            self.state["port"] = None

    def remove(self, image: bool | None = None) -> None:
        """Remove the container; the image too when asked (or with --option remove_image).
        The image goes by this version's tag, never by force: an identical build that another
        version's tag (or container) still uses stays for it."""
        if not self.state.get("container_id") and not self.state.get("image_id"):
            self.close()
            return
        client = self._docker(RunnerError)
        self._remove_container(client)
        remove_image = bool(self.options.get("remove_image")) if image is None else image
        if remove_image and self.state.get("image_id"):
            for ident in (self.state.get("image_tag"), self.state["image_id"]):
                try:
                    if ident:
                        sdk.remove_image_quietly(client, ident)
                except Exception as exc:
                    raise RunnerError(
                        f"removing image {self.state.get('image_tag')} failed: {sdk.describe(exc)}"
                    ) from None
            self.state.update(image_id=None)
        self.token_file.unlink(missing_ok=True)
        self.close()

    def discard(self) -> None:
        """A version dropped for good (pruned, or an older version of a removed deployment):
        its container and its image."""
        self.remove(image=True)

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
        return self._post(inputs, time.monotonic() + RETRY_WINDOW, 0.1)

    def _post(self, inputs: dict[str, Any], deadline: float, delay: float) -> dict[str, Any]:
        """POST the inputs; while the container runs, a refused or reset connection is retried
        with a growing delay until `deadline`."""

        def retry(exc: httpx.HTTPError) -> dict[str, Any]:
            if not isinstance(exc, RETRYABLE):
                return failure(
                    f"calling deployment {self.context.name} failed: {type(exc).__name__}: {exc}"
                )
            self.close_http()
            if not self._container_running():
                return self._not_running("its container has stopped")
            if time.monotonic() + delay > deadline:
                return failure(
                    f"cannot reach deployment {self.context.name} at {self.endpoint}: "
                    f"{type(exc).__name__}: {exc}"
                )
            time.sleep(delay)
            return self._post(inputs, deadline, min(delay * 2, 1.0))

        path = self.state.get("predict_path") or "/run"
        return self.http.post_envelope(path, inputs, on_transport_error=retry)

    def stream(self, inputs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Items as the container's runtime streams them (newline-delimited JSON from
        `POST /stream`); a solution's own app answers once."""
        if not isinstance(inputs, dict):
            yield failure(f"inputs must be a JSON object, got {type(inputs).__name__}")
            return
        if self.state.get("mode") != "generated":
            yield self.run(inputs)
            return
        if not self.state.get("container_id") or not self.endpoint:
            yield self._not_running("it is stopped")
            return
        yield from self.http.stream_envelopes("/stream", inputs)

    # -- readiness, schema, connection --------------------------------------------------------

    def readiness(self) -> Readiness:
        """The container's runtime says loading/ready/failed on /readyz; a solution's own app
        (its Dockerfile) knows only up or not."""
        if self.state.get("mode") != "generated":
            return super().readiness()
        if not self.state.get("container_id") or not self.endpoint:
            return Readiness(state="stopped")
        if not self._container_running():
            return Readiness(state="stopped", error="its container is not running")
        return self.http.readiness(timeout=HEALTH_TIMEOUT)

    def schema(self) -> dict[str, Any] | None:
        if self.state.get("mode") == "generated" and self.endpoint:
            published = self.http.schema(timeout=HEALTH_TIMEOUT)
            if published is not None:
                return published
        return super().schema()

    def connection(self) -> Connection:
        if self.state.get("mode") != "generated":
            return super().connection()
        token = self._token()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return Connection(url=self.endpoint, headers=headers, paths=SERVED_PATHS)

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
                    return sdk.logs_text(container, tail)
                except Exception as exc:
                    raise RunnerError(
                        f"reading the logs of {self.state.get('container_name')} failed: "
                        f"{sdk.describe(exc)}"
                    ) from None
        build_log = self.runtime_dir / BUILD_LOG
        if build_log.is_file():
            return tail_lines(build_log.read_text(encoding="utf-8", errors="replace"), tail)
        return ""


def port_taken(exc: Exception) -> bool:
    """Whether the engine refused to start a container because its host port is taken."""
    text = sdk.describe(exc).lower()
    return any(marker in text for marker in PORT_TAKEN)
