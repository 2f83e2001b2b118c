"""target=cloud: the generated `modal_app.py` deployed to Modal.

`app.deploy()` through the SDK (Modal's progress on stderr and in the deploy log), the
deployment's env as a Modal secret, then the entry point looked up by name
(`modal.Function.from_name` / `modal.Cls.from_name`) and called with `.remote()`; with
`web=true`, over HTTPS with httpx. The state (app name and id, shape, URL) lets another
process run, stop, start and remove it. Every SDK call goes through `deployer_modal.sdk`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from deployer.plugin import (
    DeployerError,
    DeployFailedError,
    EnvelopeClient,
    RunnerContext,
    RunnerError,
    StrategyUnavailableError,
    failure,
    static_input_problem,
    success,
    tail_lines,
)
from deployer_modal import sdk, workspace
from deployer_modal.availability import missing_credentials
from deployer_modal.targets.common import ModalRunner, raised

DEPLOY_LOG = "deploy.log"
VERSION_SECRET = re.compile(r"-v\d+$")  # versions' own secrets; before, one served them all
WEB_CONNECT_TIMEOUT = 30.0
STREAM_STATUSES = ("item", "success", "error")
TOKEN_HINT = (
    "run `modal token new`, or set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET; "
    "--option target=local runs the app in-process without Modal"
)


class WebEndpointClient(EnvelopeClient):
    """POSTs to the web endpoint's URL itself (Modal may redirect a long call); a non-envelope
    answer is reported with that URL."""

    def answerer(self) -> str:
        return str(self.base_url)


class ModalCloudRunner(ModalRunner):
    """The app deployed on Modal; calls go by `.remote()` or, with web=true, over HTTPS."""

    def __init__(self, context: RunnerContext, state: dict[str, Any] | None = None) -> None:
        super().__init__(context, state)
        self._remote: dict[str, Any] = {}
        self._reachable = False
        self._web = WebEndpointClient(
            lambda: self.state.get("web_url"),
            name=context.name,
            timeout=context.run_timeout,
            connect_timeout=WEB_CONNECT_TIMEOUT,
        )

    @property
    def target(self) -> str:
        return "cloud"

    @property
    def environment(self) -> str | None:
        return str(self.context.options.get("environment") or "") or None

    @property
    def app_name(self) -> str:
        return self.state.get("app_name") or self.context.name

    @property
    def endpoint(self) -> str | None:
        return self.state.get("web_url")

    @property
    def provider(self) -> str | None:
        return "modal"

    @property
    def deploy_log(self) -> Path:
        self.context.runtime_dir.mkdir(parents=True, exist_ok=True)
        return self.context.runtime_dir / DEPLOY_LOG

    # -- lifecycle -------------------------------------------------------------------------------

    def deploy(self) -> None:
        ctx = self.context
        reason = missing_credentials()
        if reason:  # before anything else: no workspace import, no network
            raise StrategyUnavailableError(f"cannot deploy to Modal: {reason}", hint=TOKEN_HINT)
        author = workspace.is_modal_function(ctx.run_interface)
        if author and self._deploy_author_app():
            return
        workspace.prepare(ctx)
        module = sdk.load_app(ctx.adapted_path)
        try:
            self._require_modal_to_deploy()
            self.state = self._new_state("cls" if module.CLASS_VARIANT else "function")
            self.state["web"] = bool(module.WEB)
            self._deploy_app(module.app)
        finally:
            sdk.unload(module)
        self._remote = {}

    def _deploy_author_app(self) -> bool:
        """The solution's own Modal app deployed as it is (its image, secrets, GPUs: Modal's
        `app.deploy()`), under the deployment's name; its chosen function is then called by
        name. False when the entry point is no function of a modal.App (a Modal class: the
        generated app wraps it)."""
        ctx = self.context
        with sdk.author_app(ctx.adapted_path, ctx.run_interface.entrypoint) as author:
            if author is None:
                return False
            if ctx.env:
                raise DeployFailedError(
                    f"{ctx.run_interface.entrypoint} is deployed as its own Modal app, whose "
                    f"functions name their secrets themselves; --env has no way into it",
                    hint="attach a modal.Secret in the app's @app.function(secrets=[...])",
                )
            if ctx.options.get("web"):
                raise DeployFailedError(
                    f"web=true wraps the entry point in a generated app; "
                    f"{ctx.run_interface.entrypoint} is deployed as its own Modal app",
                    hint="declare a @modal.fastapi_endpoint in the app itself, or leave web off",
                )
            self._require_modal_to_deploy()
            self.state = self._new_state("author")
            self.state.update(
                function=author.function,
                generator=author.generator,
                author_app=author.app.name,
            )
            self._deploy_app(author.app)
        self._remote = {}
        return True

    def _new_state(self, variant: str) -> dict[str, Any]:
        return {
            "target": "cloud",
            "running": False,
            "app_name": self.context.name,
            "environment": self.environment,
            "variant": variant,
            "web": False,
        }

    def _require_modal_to_deploy(self) -> None:
        try:
            self._require_modal("deploy")
        except RunnerError as exc:
            raise DeployFailedError(exc.message, hint=exc.hint) from None

    def start(self) -> None:
        """Bring this version back: live on Modal already, nothing to do; replaced on Modal by
        another version of the app, Modal's own rollback to it (health first, as core's
        rollback wants); stopped on Modal, a fresh deploy."""
        version, app_id = self.state.get("modal_version"), self.state.get("app_id")
        if not version or not app_id:
            self.deploy()
            return
        self._require_modal("start")
        try:
            live = sdk.live_app(app_id)
            if live is not None and live.deployed and live.version != version:
                self.progress(f"rolling {self.context.name} back to its Modal version v{version}")
                sdk.rollback_app(app_id, version, self.deploy_log)
                live = sdk.live_app(app_id)
        except Exception as exc:
            raise DeployFailedError(
                f"rolling {self.context.name} back to Modal version v{version} failed: "
                f"{sdk.describe(exc)}"
            ) from None
        if live is None or not live.deployed:
            self.deploy()  # stopped on Modal: nothing to roll back to
            return
        self.state.update(running=True, modal_version=live.version)
        self._remote = {}

    def stop(self) -> None:
        """Stop the app on Modal, unless Modal serves another version of it now (a redeploy
        or a rollback replaced this one: stopping the app would stop that one too)."""
        if self.state.get("running") and self.state.get("app_id"):  # else: never deployed
            self._require_modal("stop")
            try:
                if self._live_here() is not False:
                    sdk.stop_app(self.state["app_id"])
            except Exception as exc:
                raise RunnerError(
                    f"stopping {self.context.name} on Modal failed: {sdk.describe(exc)}",
                    hint=f"it may still be running: modal app stop {self.context.name}",
                ) from None
            self._remote = {}
        self.mark_stopped()

    def remove(self) -> None:
        """Stop, then delete this version's Modal secret. A record from before versions
        named one secret for every version: that one stays while the app is live on Modal
        (a failed redeploy's clean-up must not take the serving version's env away)."""
        self.stop()
        secret = self.state.get("secret")
        if not secret:
            return
        self._require_modal("remove the secret of")
        try:
            shared = not VERSION_SECRET.search(secret)
            live = sdk.live_app(self.app_name, self.environment) if shared else None
            if live is None or not live.deployed:
                sdk.delete_secret(secret, self.environment)
        except Exception as exc:
            raise RunnerError(
                f"deleting the Modal secret {secret} failed: {sdk.describe(exc)}",
                hint=f"delete it with: modal secret delete {secret}",
            ) from None
        self.state.pop("secret", None)

    def _live_here(self) -> bool | None:
        """Whether Modal serves this version of the app now; None when unknown (a record from
        before versions, or an app Modal no longer knows)."""
        version = self.state.get("modal_version")
        live = sdk.live_app(self.state["app_id"]) if version else None
        if live is None or not live.deployed:
            return None
        return live.version == version

    def progress(self, message: str) -> None:
        if self.context.progress is not None:
            self.context.progress(message)

    def close(self) -> None:
        self._web.close()

    # -- calls, health, logs ---------------------------------------------------------------------

    def call(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if self.state.get("web_url"):
            self._web.client.follow_redirects = True  # Modal redirects calls that run long
            return self._web.post_envelope("", inputs, on_transport_error=self._web_unreachable)
        try:
            self._require_modal("call")
            if self.state.get("variant") == "author":
                problem = static_input_problem(self.context.run_interface, inputs)
                if problem is not None:  # before Modal answers with the function's TypeError
                    return problem
                output = self._author_output(inputs)
            else:
                output = self._entry("run").remote(inputs)
        except DeployerError as exc:
            return failure(exc.message)
        except Exception as exc:
            return self._call_error(exc)
        return success(output)

    def call_stream(self, inputs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The generated app's generator `stream` through Modal's own generator call,
        `.remote_gen()`: its item envelopes as the container yields them."""
        try:
            self._require_modal("stream from")
            if self.state.get("variant") == "author":
                problem = static_input_problem(self.context.run_interface, inputs)
                yield from [problem] if problem else self._author_items(inputs)
                return
            for item in self._entry("stream").remote_gen(inputs):
                if not isinstance(item, dict) or item.get("status") not in STREAM_STATUSES:
                    yield failure(f"unexpected stream item from {self.context.name}: {item!r:.200}")
                    return
                yield item
        except DeployerError as exc:
            yield failure(exc.message)
        except Exception as exc:
            yield self._call_error(exc)

    def _author_output(self, inputs: dict[str, Any]) -> Any:
        """The author's function called by name with the inputs as its arguments (as its
        `.local()` is called on target=local); a generator's items collected."""
        function = self._entry(str(self.state["function"]))
        if self.state.get("generator"):
            return list(function.remote_gen(**inputs))
        return function.remote(**inputs)

    def _author_items(self, inputs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        function = self._entry(str(self.state["function"]))
        if not self.state.get("generator"):
            yield {"status": "item", "output": function.remote(**inputs)}
        else:
            for item in function.remote_gen(**inputs):
                yield {"status": "item", "output": item}
        yield {"status": "success"}

    def _call_error(self, exc: Exception) -> dict[str, Any]:
        if sdk.is_modal_error(exc):
            return failure(f"{self.context.name} on Modal: {sdk.describe(exc)}")
        return raised(exc)  # raised by the solution, remotely

    def _entry(self, method: str) -> Any:
        """The deployed function (`run`, `stream`) looked up by name, or the class's method."""
        if method not in self._remote:
            handle = self._handle(method)
            self._remote[method] = (
                getattr(handle(), method) if self.state.get("variant") == "cls" else handle
            )
        return self._remote[method]

    def healthy(self) -> bool:
        self._require_modal("check")
        return sdk.app_deployed(self.state.get("app_id") or self.context.name)

    def logs(self, tail: int | None = None) -> str:
        """What Modal keeps for the app; the deploy log before there is one."""
        app_id = self.state.get("app_id")
        if not app_id:
            log = self.deploy_log
            return tail_lines(log.read_text(encoding="utf-8"), tail) if log.is_file() else ""
        self._require_modal("read the logs of")
        try:
            text = sdk.app_logs(app_id, tail or 100)
        except Exception as exc:
            raise RunnerError(
                f"reading the logs of {self.context.name} from Modal failed: {sdk.describe(exc)}"
            ) from None
        return tail_lines(text, tail)

    # -- helpers ---------------------------------------------------------------------------------

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

    def _deploy_app(self, app: Any) -> None:
        ctx = self.context
        secret = workspace.secret_name(ctx.name, ctx.version)
        try:
            previous = sdk.live_app(self.app_name, self.environment)  # serving until replaced
            own = self.state["variant"] != "author"  # the author's app names its own secrets
            if own and sdk.replace_secret(secret, dict(ctx.env), self.environment):
                self.state["secret"] = secret
            self.state["app_id"] = sdk.deploy_app(app, ctx.name, self.environment, self.deploy_log)
        except Exception as exc:
            raise self._deploy_error(exc) from None
        try:  # published: a new version of the app on Modal, which serves it from now on
            live = sdk.live_app(self.state["app_id"])
            self.state["modal_version"] = live.version if live else None
            handle = self._handle().hydrate()  # by name, as any other process will find it
            if self.state["web"]:
                cls_web = self.state["variant"] == "cls"
                web = handle().web if cls_web else sdk.web_function(self.app_name, self.environment)
                self.state["web_url"] = web.get_web_url()
        except Exception as exc:
            raise self._undo_publish(previous, exc) from None
        self.state["running"] = True

    def _undo_publish(self, previous: sdk.LiveApp | None, exc: Exception) -> DeployerError:
        """A version published on Modal but not usable: Modal's rollback puts the version
        that served before back (so a failed redeploy keeps the old one serving); the error
        says what happened."""
        error = self._deploy_error(exc)
        if previous is None or not previous.deployed or not previous.version:
            return error  # nothing served before: remove() stops the app
        try:
            sdk.rollback_app(self.state["app_id"], previous.version, self.deploy_log)
        except Exception as undo:
            error.hint = (
                f"Modal serves the new version; rolling it back to v{previous.version} failed "
                f"({sdk.describe(undo)}): modal app rollback {self.app_name} v{previous.version}"
            )
            return error
        self.state["modal_version"] = None  # this version is no longer live: keep the app up
        self.state["app_id"] = None
        error.hint = f"Modal serves v{previous.version} again (rolled back)"
        return error

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

    def _handle(self, function: str | None = None) -> Any:
        function = function or self.state.get("function") or sdk.FUNCTION_NAME
        return sdk.entry_handle(
            self.app_name, self.state.get("variant"), self.environment, function
        )

    def _web_unreachable(self, exc: httpx.HTTPError) -> dict[str, Any]:
        url = self.state.get("web_url")
        return failure(f"cannot reach {self.context.name} at {url}: {type(exc).__name__}")
