"""The only module that imports ray: connect, deploy, delete and inspect one Serve application.

Every ray error leaves here as one line (DeployFailedError / RunnerError), never a traceback.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deployer.plugin import DeployFailedError, RunnerError

NAMESPACE = "deployer"
APP_FILE = "deployer_ray_app.py"
CONTROLLER_ACTOR = "SERVE_CONTROLLER_ACTOR"  # Serve's named controller actor and its namespace
SERVE_NAMESPACE = "serve"


def one_line(exc: BaseException) -> str:
    """The most telling line of a (possibly remote) error: its last `Error:` line."""
    text = str(exc).strip() or type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        head = line.split(":", 1)[0]
        if head.endswith(("Error", "Exception")) and " " not in head:
            return line[:400]
    return lines[-1][:400] if lines else type(exc).__name__


_connected: dict[str, Any] = {}


def connect(address: str, runtime_env: dict[str, Any] | None = None) -> None:
    """Join the cluster as a driver. With a runtime_env (a deploy), reconnect with it as the job's
    environment: Serve replicas inherit it, and Ray uploads a local working_dir only at job
    level (a deployment-level local working_dir fails). Without one, any connection to the
    same cluster will do."""
    import ray

    if ray.is_initialized():
        same_cluster = _connected.get("address") == address
        if same_cluster and (runtime_env is None or _connected.get("env") == runtime_env):
            return
        ray.shutdown()  # one driver connection per process: switch clusters or environments
    try:
        ray.init(
            address=address,
            namespace=NAMESPACE,
            runtime_env=runtime_env,
            ignore_reinit_error=True,
            log_to_driver=False,
            logging_level="ERROR",
        )
    except Exception as exc:
        raise RunnerError(
            f"cannot connect to the Ray cluster at {address}: {one_line(exc)}"
        ) from None
    _connected.update(address=address, env=runtime_env)


def disconnect() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()
    _connected.clear()


def start_serve(http_port: int) -> None:
    """Start Serve's controller and one HTTP proxy on the head, bound to 127.0.0.1."""
    from ray import serve

    try:
        serve.start(
            proxy_location="HeadOnly",
            http_options={"host": "127.0.0.1", "port": http_port},
        )
    except Exception as exc:
        raise DeployFailedError(f"Ray Serve did not start: {one_line(exc)}") from None


def _app_module(workspace: Path) -> Any:
    """The generated module, loaded under a name unique to this workspace and pickled by
    value, so two deployments in one process never share a module. It imports only ray and
    starlette here; the solution loads on the cluster."""
    from ray import cloudpickle

    name = f"deployer_ray_app_{abs(hash(str(workspace)))}"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, workspace / APP_FILE)
        if spec is None or spec.loader is None:
            raise DeployFailedError(f"{APP_FILE} is missing from the adapted workspace")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        cloudpickle.register_pickle_by_value(module)
    return module


def _app_class(workspace: Path, class_name: str) -> Any:
    """The generated deployment class `class_name` as a Serve deployment."""
    from ray import serve

    return serve.deployment(getattr(_app_module(workspace), class_name))


def deploy(
    workspace: Path,
    app_name: str,
    route_prefix: str,
    deployment_options: dict[str, Any],
    address: str,
    runtime_env: dict[str, Any],
    class_name: str = "DeployerApp",
) -> None:
    """serve.run the workspace's app; blocks until RUNNING or raises with the replica's error."""
    from ray import serve

    connect(address, runtime_env)
    options = dict(deployment_options)
    actor = dict(options.pop("ray_actor_options", {}))

    def start() -> None:
        app = (
            _app_class(workspace, class_name)
            .options(name=app_name, ray_actor_options=actor, **options)
            .bind()
        )
        serve.run(app, name=app_name, route_prefix=route_prefix, blocking=False)

    _until_running(app_name, start)


def deploy_author_app(
    workspace: Path,
    app_name: str,
    route_prefix: str,
    import_path: str,
    overrides: dict[str, Any],
    address: str,
    runtime_env: dict[str, Any],
) -> dict[str, Any]:
    """serve.run the solution's own Serve application (`import_path`) under our name and
    route, with the user's `overrides` on its ingress: a zero-CPU Ray task in the job's
    runtime_env imports it there (the template's `serve_author_app`), so the deploying
    process never imports the solution. Blocks until RUNNING or raises with the one line
    that tells why; returns the options the ingress deployment runs with."""
    import ray

    connect(address, runtime_env)

    def start() -> Any:
        builder = ray.remote(num_cpus=0, max_retries=0)(_app_module(workspace).serve_author_app)
        return ray.get(builder.remote(import_path, app_name, route_prefix, overrides))

    return dict(_until_running(app_name, start))


def _until_running(app_name: str, start: Callable[[], Any]) -> Any:
    """`start()` the app and wait until it is RUNNING; what start returned. A failure is
    raised as one DeployFailedError naming the replica's error when there is one."""
    try:
        started = start()
        serve_wait(app_name)
    except (DeployFailedError, RunnerError):
        raise
    except Exception as exc:
        reason = replica_error(app_name) or one_line(exc)
        raise DeployFailedError(f"Ray Serve could not deploy {app_name}: {reason}") from None
    return started


def replica_error(app_name: str) -> str:
    """The telling line of the deployments' failure messages (a replica's traceback)."""
    from ray import serve

    try:
        app = serve.status().applications.get(app_name)
    except Exception:
        return ""
    if app is None:
        return ""
    for deployment in app.deployments.values():
        if deployment.message:
            return one_line(Exception(deployment.message))
    return one_line(Exception(app.message)) if app.message else ""


def serve_wait(app_name: str, timeout: float = 300.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = app_status(app_name)
        if status["status"] == "RUNNING":
            return
        if status["status"] in ("DEPLOY_FAILED", "UNHEALTHY"):
            reason = replica_error(app_name) or status["message"]
            raise DeployFailedError(f"Ray Serve could not deploy {app_name}: {reason}")
        time.sleep(0.5)
    raise DeployFailedError(f"{app_name} was not RUNNING within {timeout:.0f}s")


def delete(app_name: str) -> None:
    """Delete this application only; the cluster and other applications stay."""
    from ray import serve

    try:
        if app_name in serve.status().applications:
            serve.delete(app_name)
    except Exception as exc:
        raise RunnerError(f"cannot delete {app_name}: {one_line(exc)}") from None


def app_status(app_name: str) -> dict[str, Any]:
    """Serve's view of one application: status, message and its replicas' count and nodes."""
    from ray import serve

    try:
        applications = serve.status().applications
    except Exception as exc:
        raise RunnerError(f"cannot read Serve's status: {one_line(exc)}") from None
    app = applications.get(app_name)
    if app is None:
        return {"status": "NOT_DEPLOYED", "message": "", "replicas": 0}
    replicas = sum(
        count
        for deployment in app.deployments.values()
        for state, count in deployment.replica_states.items()
        if str(state).endswith("RUNNING")
    )
    return {
        "status": str(app.status).rsplit(".", 1)[-1],
        "message": app.message,
        "replicas": replicas,
    }


def replica_nodes(app_name: str) -> list[str]:
    """Node ids of this application's running replicas, from Serve's controller: the record
    the dashboard serves as `GET /api/serve/applications` (ServeInstanceDetails), read from
    the controller actor itself because the dashboard (and the state API) may be off."""
    import ray

    try:
        controller = ray.get_actor(CONTROLLER_ACTOR, namespace=SERVE_NAMESPACE)
        details = ray.get(controller.get_serve_instance_details.remote(), timeout=30)
    except Exception:
        return []
    app = (details.get("applications") or {}).get(app_name) or {}
    return sorted(
        replica["node_id"]
        for deployment in (app.get("deployments") or {}).values()
        for replica in deployment.get("replicas") or []
        if str(replica.get("state", "")).endswith("RUNNING") and replica.get("node_id")
    )


def session_dirs() -> list[str]:
    """The session directories (where Serve writes replica logs, logs/serve/) of the cluster's
    live nodes that are on this machine: the head's first, then each node's, found from its
    object store socket (<session dir>/sockets/plasma_store). A remote node's is left out."""
    import ray

    found: list[str] = []
    with contextlib.suppress(Exception):
        found.append(_session_dir())
    try:
        nodes = ray.nodes()
    except Exception:
        nodes = []
    for node in nodes:
        socket = node.get("ObjectStoreSocketName") or ""
        if not node.get("Alive") or not socket:
            continue
        folder = Path(socket).parent.parent
        if (folder / "logs").is_dir() and str(folder) not in found:
            found.append(str(folder))
    return found


def _session_dir() -> str:
    from ray._private import worker

    return worker.global_worker.node.get_session_dir_path()
