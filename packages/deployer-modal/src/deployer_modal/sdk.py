"""The only module that imports the modal SDK: loading the generated app (or the solution's
own Modal app), checking that Modal's API can be reached, the calls the cloud target makes,
and Modal's exceptions turned into one readable line (`describe`).

`modal` is imported inside these functions only, never at module import.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import socket
import sys
import urllib.parse
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from deployer.plugin import DeployFailedError, one_line, raised_at

APP_FILE = "modal_app.py"
FUNCTION_NAME = "run"  # the generated app's function, and the method of its class
CLASS_NAME = "Solution"  # the generated app's class, when the solution has a load step
PREFLIGHT_TIMEOUT = 5.0


def load_app(workspace: Path) -> ModuleType:
    """Import the workspace's modal_app.py under a fresh name (one per load).

    Modal finds the module's file from the functions it defines and mounts it as
    `/root/modal_app.py` in the container, whatever name it was imported under here.
    """
    path = workspace / APP_FILE
    if not path.is_file():
        raise DeployFailedError(
            f"{APP_FILE} is missing from the adapted workspace {workspace}",
            hint="deploy again so the modal strategy's template is rendered",
        )
    import importlib.util

    alias = f"_deployer_modal_app_{uuid.uuid4().hex[:12]}"
    spec = importlib.util.spec_from_file_location(alias, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(alias, None)
        raise DeployFailedError(
            f"{APP_FILE} could not be loaded: {one_line(exc)}", hint=raised_at(exc, workspace)
        ) from None
    return module


@dataclass(frozen=True)
class AuthorApp:
    """The solution's own `modal.App` and the function chosen on it (--entrypoint)."""

    app: Any
    function: str  # the function's name on the app (its tag, as Function.from_name takes it)
    generator: bool  # called with .remote_gen()


IMPORT_HINT = (
    "deploying a Modal app imports its file on this machine, as `modal deploy` does: install "
    "what it imports at the top here, or import it inside `with image.imports():`"
)


@contextlib.contextmanager
def author_app(workspace: Path, entrypoint: str) -> Iterator[AuthorApp | None]:
    """The App that owns the entry point, when the entry point is a function of the
    solution's own Modal app (`@app.function` on `app = modal.App(...)`); None for any other
    kind of object. The module is imported under its own name with the workspace (and
    `src/`) on sys.path, as `modal deploy app.py` imports it, so Modal mounts it in the
    container under that name; the import is forgotten on exit."""
    import modal

    module_name, _, attribute = entrypoint.partition(":")
    top = module_name.partition(".")[0]
    roots = [str(root) for root in (workspace, workspace / "src") if root.is_dir()]
    saved = {n: m for n, m in sys.modules.items() if n == top or n.startswith(f"{top}.")}
    for name in saved:
        del sys.modules[name]
    sys.path[:0] = roots
    try:
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise DeployFailedError(
                f"importing {module_name} (the solution's Modal app) failed: {one_line(exc)}",
                hint=IMPORT_HINT if isinstance(exc, ImportError) else raised_at(exc, workspace),
            ) from None
        function = getattr(module, attribute, None)
        yield _owner(module, function, entrypoint) if isinstance(function, modal.Function) else None
    finally:
        for name in [n for n in sys.modules if n == top or n.startswith(f"{top}.")]:
            del sys.modules[name]
        sys.modules.update(saved)
        for root in roots:
            with contextlib.suppress(ValueError):
                sys.path.remove(root)


def _owner(module: ModuleType, function: Any, entrypoint: str) -> AuthorApp:
    """The module's App that registered `function`, and the name it registered it under."""
    import modal

    apps = [value for value in vars(module).values() if isinstance(value, modal.App)]
    for app in apps:
        with warnings.catch_warnings():  # the build-phase registry; deprecated in modal 1.7
            warnings.simplefilter("ignore")
            registered = dict(app.registered_functions)
        tag = next((tag for tag, found in registered.items() if found is function), None)
        if tag is not None:
            raw = getattr(function, "_raw_f_", None)  # where modal 1.x keeps the function
            generator = inspect.isgeneratorfunction(raw) or inspect.isasyncgenfunction(raw)
            return AuthorApp(app=app, function=tag, generator=generator)
    raise DeployFailedError(
        f"{entrypoint} is a Modal function, but no modal.App in its module registers it",
        hint="define it with @app.function on an `app = modal.App(...)` of that module",
    )


def unload(module: ModuleType | None) -> None:
    if module is not None:
        for name in [n for n in sys.modules if n.startswith(module.__name__)]:
            sys.modules.pop(name, None)


def server_urls() -> list[str]:
    """Modal's API URLs, as the client will use them (MODAL_SERVER_URL or the profile)."""
    from modal.config import config

    return [url.strip() for url in str(config["server_url"]).split(",") if url.strip()]


def _reach(url: str) -> str | None:
    """Why a TCP connection to `url` fails, or None when it opens."""
    parts = urllib.parse.urlparse(url)
    if parts.scheme == "unix":
        return None if Path(parts.path).exists() else f"{parts.path} does not exist"
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"{host}: DNS lookup failed ({exc.strerror or exc})"
    try:
        with socket.create_connection((host, port), timeout=PREFLIGHT_TIMEOUT):
            return None
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or type(exc).__name__}"


def unreachable() -> str | None:
    """Why none of Modal's API servers can be reached, or None when one can.

    The modal client retries a failed connection for about a minute before it gives up; one
    quick look first turns "no network" into a clear error in a second.
    """
    urls = server_urls()
    problems = [problem for problem in (_reach(url) for url in urls) if problem]
    if len(problems) < len(urls):
        return None
    return "cannot reach Modal's API (" + "; ".join(problems) + ")"


def is_auth_error(exc: BaseException) -> bool:
    import modal.exception

    return isinstance(exc, modal.exception.AuthError | modal.exception.PermissionDeniedError)


def is_modal_error(exc: BaseException) -> bool:
    """Raised by Modal's client or service, not by the solution's code."""
    import modal.exception

    return isinstance(exc, modal.exception.Error) or is_connection_error(exc)


def is_connection_error(exc: BaseException) -> bool:
    """The client lost or never had a connection (grpclib's errors escape the SDK here)."""
    import grpclib.exceptions
    import modal.exception

    kinds = (
        modal.exception.ConnectionError,
        grpclib.exceptions.StreamTerminatedError,
        grpclib.exceptions.ProtocolError,
        OSError,
        TimeoutError,
    )
    return isinstance(exc, kinds)


def describe(exc: BaseException) -> str:
    """One line for a Modal error, keeping Modal's own message."""
    import modal.exception

    message = first_line(exc)
    if isinstance(exc, modal.exception.AuthError):
        return f"Modal rejected the credentials: {message}"
    if isinstance(exc, modal.exception.PermissionDeniedError):
        return f"Modal denied permission: {message}"
    if is_connection_error(exc):
        return f"cannot reach Modal's API: {message} ({type(exc).__name__})"
    if isinstance(exc, modal.exception.Error):
        return f"Modal {type(exc).__name__}: {message}"
    return one_line(exc)


def last_output_line(log_path: Path) -> str | None:
    """The last line Modal printed while deploying (the deploy log goes with the deployment)."""
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    text = next((line.strip() for line in reversed(lines) if line.strip()), "")
    return text[:300] or None


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


class _Tee(io.TextIOBase):
    """Writes to the terminal's stderr and to the deploy log at once."""

    def __init__(self, *streams: IO[str]) -> None:
        self._streams = streams

    def write(self, text: str) -> int:
        for stream in self._streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self._streams:
            stream.flush()

    def isatty(self) -> bool:
        return self._streams[0].isatty()


@contextlib.contextmanager
def progress_output(log_path: Path) -> Iterator[None]:
    """Modal's own deploy progress (image build, objects created), shown on stderr and kept
    in the deploy log. Modal prints to stdout; stdout is kept clean for `--json` output."""
    import modal

    log_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        log_path.open("a", encoding="utf-8") as log,
        contextlib.redirect_stdout(_Tee(sys.stderr, log)),
        modal.enable_output(),
    ):
        yield


# -- the calls the cloud target makes (modal imported here only) --------------------------------


def replace_secret(name: str, env: dict[str, str], environment: str | None) -> bool:
    """A fresh secret each deploy, so removed keys and changed values take effect; True when
    one was created (there is none for an empty env)."""
    import modal

    modal.Secret.objects.delete(name, allow_missing=True, environment_name=environment)
    if not env:
        return False
    modal.Secret.objects.create(name, dict(env), environment_name=environment)
    return True


def delete_secret(name: str, environment: str | None) -> None:
    import modal

    modal.Secret.objects.delete(name, allow_missing=True, environment_name=environment)


def deploy_app(app: Any, name: str, environment: str | None, log_path: Path) -> str:
    """`app.deploy()` with Modal's progress on stderr and in the deploy log; the app id.
    Each deploy of a name is a new version of that app on Modal."""
    with progress_output(log_path):
        app.deploy(name=name, environment_name=environment)
    return str(app.app_id)


def entry_handle(
    app: str, variant: str | None, environment: str | None, function: str = FUNCTION_NAME
) -> Any:
    """The deployed entry point looked up by name: the function, or the class."""
    import modal

    if variant == "cls":
        return modal.Cls.from_name(app, CLASS_NAME, environment_name=environment)
    return modal.Function.from_name(app, function, environment_name=environment)


def web_function(app: str, environment: str | None) -> Any:
    import modal

    return modal.Function.from_name(app, "web", environment_name=environment)


def app_deployed(app: str) -> bool:
    """Whether the app (by id or name) is in Modal's DEPLOYED state."""
    import modal
    from modal.types import AppState

    found = modal.App.lookup(app)
    return found.info(refresh=True).lifecycle.state == AppState.DEPLOYED


@dataclass(frozen=True)
class LiveApp:
    """An app as Modal reports it: its id, whether it is deployed, and the version that is
    live (each deploy, and each rollback, makes a new one; the newest serves)."""

    app_id: str
    deployed: bool
    version: int | None


def live_app(app: str, environment: str | None = None) -> LiveApp | None:
    """The app (by name in `environment`, or by id) as Modal reports it; None if Modal knows
    no app of that name."""
    import modal
    import modal.exception
    from modal.types import AppState

    try:
        found = modal.App.lookup(app, environment_name=environment)
    except modal.exception.NotFoundError:
        return None
    lifecycle = found.info(refresh=True).lifecycle
    return LiveApp(str(found.app_id), lifecycle.state == AppState.DEPLOYED, lifecycle.version)


def rollback_app(app_id: str, version: int, log_path: Path) -> None:
    """Modal's own rollback to `version` of the app (`modal app rollback APP vN`: Modal has
    it in its CLI, not in the SDK; called in-process, its output kept like a deploy's). The
    rollback is a new version on Modal with the state of `version`."""
    from modal.cli.app import rollback

    with progress_output(log_path):
        rollback.callback(
            app_identifier=app_id, version=f"v{version}", strategy="rolling", env=None
        )


def stop_app(app_id: str) -> None:
    """Stop the app; one stopped or deleted on Modal already is fine."""
    import modal
    import modal.exception

    with contextlib.suppress(modal.exception.NotFoundError):
        modal.App.lookup(app_id).stop()


def app_logs(app_id: str, tail: int) -> str:
    import modal

    app = modal.App.lookup(app_id)
    return "".join(entry.message for entry in app.logs.tail(tail))
