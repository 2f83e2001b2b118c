"""ModalRunner: deploys the generated `modal_app.py` to Modal, or runs it in-process.

- `target=cloud` (default): `app.deploy()` through the SDK (Modal's progress on stderr and in
  the deploy log), the deployment's env as a Modal secret, then the entry point looked up by
  name (`modal.Function.from_name` / `modal.Cls.from_name`) and called with `.remote()`; with
  `web=true`, over HTTPS with httpx. The state (app name and id, shape, URL) lets another
  process run, stop, start and remove it.
- `target=local`: the same generated app imported here and its function (or class, load step
  included) called with `.local()`. No Modal account needed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import httpx

from deployer.errors import DeployerError, DeployFailedError, RunnerError, StrategyUnavailableError
from deployer.runtime.runner import (
    Runner,
    RunnerContext,
    RunnerStatus,
    failure,
    success,
    tail_lines,
)
from deployer_modal import sdk, settings
from deployer_modal.credentials import missing_credentials

DEPLOY_LOG = "deploy.log"
FUNCTION_NAME = "run"
CLASS_NAME = "Solution"
TOKEN_HINT = (
    "run `modal token new`, or set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET; "
    "--option target=local runs the app in-process without Modal"
)


class ModalRunner(Runner):
    """Runner of the `modal` strategy; see the module docstring for the two targets."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"logs", "restart"})

    def __init__(self, context: RunnerContext, state: dict[str, Any] | None = None) -> None:
        super().__init__(context, state)
        self._lock = threading.Lock()
        self._module: ModuleType | None = None
        self._call: Callable[[dict[str, Any]], Any] | None = None
        self._remote: Any = None
        self._reachable = False
        self._http: httpx.Client | None = None

    # -- shared ------------------------------------------------------------------------------

    @property
    def target(self) -> str:
        return str(self.state.get("target") or self.context.options.get("target") or "cloud")

    @property
    def environment(self) -> str | None:
        return str(self.context.options.get("environment") or "") or None

    @property
    def endpoint(self) -> str | None:
        return self.state.get("web_url") if self.target == "cloud" else None

    @property
    def provider(self) -> str | None:
        return "modal" if self.target == "cloud" else "local"

    @property
    def deploy_log(self) -> Path:
        self.context.runtime_dir.mkdir(parents=True, exist_ok=True)
        return self.context.runtime_dir / DEPLOY_LOG

    def deploy(self) -> None:
        if self.target == "local":
            self._deploy_local()
        else:
            self._deploy_cloud()

    def start(self) -> None:
        """Deploy again: Modal keeps no stopped app to resume."""
        self.deploy()

    def stop(self) -> None:
        if self.target == "local":
            self._unload()
        else:
            self._stop_cloud()
        if self.state:
            self.state["running"] = False

    def remove(self) -> None:
        self.stop()
        if self.target == "cloud" and self.state.get("secret"):
            self._delete_secret()

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(inputs, dict):
            return failure(f"inputs must be a JSON object, got {type(inputs).__name__}")
        if not self.state.get("running"):
            name = self.context.name
            return failure(
                f"deployment {name} is not running (it was stopped); "
                f"start it with `deployer start {name}`"
            )
        if self.target == "local":
            return self._run_local(inputs)
        if self.state.get("web_url"):
            return self._run_web(inputs)
        return self._run_remote(inputs)

    def is_healthy(self) -> bool:
        try:
            if not self.state.get("running"):
                return False
            if self.target == "local":
                self._ensure_local()
                return True
            return self._app_deployed()
        except Exception:
            return False

    def status(self) -> RunnerStatus:
        if not self.state.get("running"):
            return "stopped"
        return "running" if self.is_healthy() else "failed"

    def logs(self, tail: int | None = None) -> str:
        """What Modal keeps for the app; in-process calls write to the caller's own output."""
        if self.target == "local":
            return ""
        app_id = self.state.get("app_id")
        if not app_id:
            log = self.deploy_log
            return tail_lines(log.read_text(encoding="utf-8"), tail) if log.is_file() else ""
        self._require_modal("read the logs of")
        import modal

        try:
            app = modal.App.lookup(app_id)
            text = "".join(entry.message for entry in app.logs.tail(tail or 100))
        except Exception as exc:
            raise RunnerError(
                f"reading the logs of {self.context.name} from Modal failed: {sdk.describe(exc)}"
            ) from None
        return tail_lines(text, tail)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    # -- local target ------------------------------------------------------------------------

    def _deploy_local(self) -> None:
        self._unload()
        settings.write(self.context.adapted_path, settings.build(self.context))
        self.state = {"target": "local", "running": True}
        self._ensure_local()

    def _ensure_local(self) -> Callable[[dict[str, Any]], Any]:
        """Import the generated app and run the load step once; return the call."""
        with self._lock:
            if self._call is None:
                os.environ.update(self.context.env)  # secrets reach the solution as env vars
                module = sdk.load_app(self.context.adapted_path)
                try:
                    self._call = _local_call(module)
                except Exception as exc:
                    sdk.unload(module)
                    raise DeployFailedError(
                        f"loading {self.context.run_interface.entrypoint} failed: "
                        f"{sdk.one_line(exc)}",
                        hint=sdk.where(exc, self.context.adapted_path),
                    ) from None
                self._module = module
                self.state["variant"] = "cls" if module.LOAD_STEP else "function"
            return self._call

    def _unload(self) -> None:
        with self._lock:
            sdk.unload(self._module)
            self._module, self._call = None, None

    def _run_local(self, inputs: dict[str, Any]) -> dict[str, Any]:
        try:
            call = self._ensure_local()
        except DeployerError as exc:
            return failure(str(exc))
        try:
            return success(call(inputs))
        except (Exception, SystemExit) as exc:
            return failure(f"{type(exc).__name__}: {exc}")

    # -- cloud target ------------------------------------------------------------------------

    def _require_modal(self, doing: str) -> None:
        """Credentials, then a quick look that Modal's API answers (once per runner)."""
        reason = missing_credentials()
        if reason:
            raise StrategyUnavailableError(
                f"cannot {doing} {self.context.name} on Modal: {reason}", hint=TOKEN_HINT
            )
        if self._reachable:
            return
        problem = sdk.unreachable()
        if problem:
            raise RunnerError(
                f"cannot {doing} {self.context.name} on Modal: {problem}",
                hint="check the network connection (and MODAL_SERVER_URL, if set)",
            )
        self._reachable = True

    def _deploy_cloud(self) -> None:
        ctx = self.context
        reason = missing_credentials()
        if reason:  # before anything else: no workspace import, no network
            raise StrategyUnavailableError(f"cannot deploy to Modal: {reason}", hint=TOKEN_HINT)
        settings.write(ctx.adapted_path, settings.build(ctx))
        module = sdk.load_app(ctx.adapted_path)
        try:
            try:
                self._require_modal("deploy")
            except RunnerError as exc:
                raise DeployFailedError(exc.message, hint=exc.hint) from None
            self.state = {
                "target": "cloud",
                "running": False,
                "app_name": ctx.name,
                "environment": self.environment,
                "variant": "cls" if module.LOAD_STEP else "function",
                "web": bool(module.WEB),
            }
            self._deploy_app(module)
        finally:
            sdk.unload(module)
        self._remote = None

    def _deploy_app(self, module: ModuleType) -> None:
        import modal

        ctx = self.context
        secret = settings.secret_name(ctx.name)
        try:
            # a fresh secret each deploy, so removed keys and changed values take effect
            modal.Secret.objects.delete(
                secret, allow_missing=True, environment_name=self.environment
            )
            if ctx.env:
                modal.Secret.objects.create(
                    secret, dict(ctx.env), environment_name=self.environment
                )
                self.state["secret"] = secret
            with sdk.progress_output(self.deploy_log):
                module.app.deploy(name=ctx.name, environment_name=self.environment)
            self.state["app_id"] = module.app.app_id
            handle = self._handle().hydrate()  # by name, as any other process will find it
            if self.state["web"]:
                web = handle().web if self.state["variant"] == "cls" else self._web_function()
                self.state["web_url"] = web.get_web_url()
        except Exception as exc:
            raise self._deploy_error(exc) from None
        self.state["running"] = True

    def _deploy_error(self, exc: Exception) -> DeployerError:
        if isinstance(exc, DeployerError):
            return exc
        message = f"deploying {self.context.name} to Modal failed: {sdk.describe(exc)}"
        if sdk.is_auth_error(exc):
            return StrategyUnavailableError(message, hint=TOKEN_HINT)
        if sdk.is_connection_error(exc):
            return DeployFailedError(message, hint="check the network connection to Modal")
        said = sdk.last_output_line(self.deploy_log)
        return DeployFailedError(message, hint=f"Modal's last output: {said}" if said else None)

    def _handle(self) -> Any:
        """The deployed entry point looked up by name: the function, or the class."""
        import modal

        app, env = self.state.get("app_name") or self.context.name, self.environment
        if self.state.get("variant") == "cls":
            return modal.Cls.from_name(app, CLASS_NAME, environment_name=env)
        return modal.Function.from_name(app, FUNCTION_NAME, environment_name=env)

    def _web_function(self) -> Any:
        import modal

        app = self.state.get("app_name") or self.context.name
        return modal.Function.from_name(app, "web", environment_name=self.environment)

    def _run_remote(self, inputs: dict[str, Any]) -> dict[str, Any]:
        try:
            self._require_modal("call")
            if self._remote is None:
                handle = self._handle()
                self._remote = handle().run if self.state.get("variant") == "cls" else handle
            output = self._remote.remote(inputs)
        except DeployerError as exc:
            return failure(exc.message)
        except Exception as exc:
            if sdk.is_modal_error(exc):
                return failure(f"{self.context.name} on Modal: {sdk.describe(exc)}")
            return failure(f"{type(exc).__name__}: {exc}")  # raised by the solution, remotely
        return success(output)

    def _run_web(self, inputs: dict[str, Any]) -> dict[str, Any]:
        url = self.state["web_url"]
        if self._http is None:
            timeout = httpx.Timeout(self.context.run_timeout, connect=30.0)
            self._http = httpx.Client(timeout=timeout, follow_redirects=True)
        try:
            response = self._http.post(url, json=inputs)
        except httpx.TimeoutException:
            return failure(
                f"{self.context.name} did not answer at {url} within "
                f"{self.context.run_timeout:g}s (the run timeout)"
            )
        except httpx.HTTPError as exc:
            return failure(f"cannot reach {self.context.name} at {url}: {type(exc).__name__}")
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and payload.get("status") in {"success", "error"}:
            return payload
        return failure(
            f"unexpected answer from {url}: HTTP {response.status_code} {response.text[:200]!r}"
        )

    def _app_deployed(self) -> bool:
        import modal
        from modal.types import AppState

        self._require_modal("check")
        app = modal.App.lookup(self.state.get("app_id") or self.context.name)
        return app.info(refresh=True).lifecycle.state == AppState.DEPLOYED

    def _stop_cloud(self) -> None:
        if not self.state.get("running") or not self.state.get("app_id"):
            return  # never deployed, or stopped already
        import modal
        import modal.exception

        self._require_modal("stop")
        try:
            modal.App.lookup(self.state["app_id"]).stop()
        except modal.exception.NotFoundError:
            pass  # stopped or deleted on Modal already
        except Exception as exc:
            raise RunnerError(
                f"stopping {self.context.name} on Modal failed: {sdk.describe(exc)}",
                hint=f"it may still be running: modal app stop {self.context.name}",
            ) from None
        self._remote = None

    def _delete_secret(self) -> None:
        import modal

        self._require_modal("remove the secret of")
        try:
            modal.Secret.objects.delete(
                self.state["secret"], allow_missing=True, environment_name=self.environment
            )
        except Exception as exc:
            raise RunnerError(
                f"deleting the Modal secret {self.state['secret']} failed: {sdk.describe(exc)}",
                hint=f"delete it with: modal secret delete {self.state['secret']}",
            ) from None
        self.state.pop("secret", None)


def _local_call(module: ModuleType) -> Callable[[dict[str, Any]], Any]:
    """The generated app's entry point called with `.local()`, its load step run once now."""
    if module.LOAD_STEP:
        instance = getattr(module, CLASS_NAME)()
        instance.warm.local()  # @modal.enter() runs the load step before the first method
        method = instance.run
        return method.local
    module.entry()  # import the entry module now, not on the first call
    return getattr(module, FUNCTION_NAME).local
