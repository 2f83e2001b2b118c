"""Fixtures: no Modal credential unless a test gives one, workspaces made by the real adapter
(core's `deployments` helper, with modal's extras), and a stand-in for Modal's API server on
127.0.0.1. Core's pytest plugin ships `deployer_home` and `registry`."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from deployer.models import Resources
from deployer.plugins.registry import StrategyRegistry
from deployer.runtime.runner import RunnerContext
from deployer.testing import write_solution
from deployer.testing.fixtures import Deployments as CoreDeployments
from deployer_modal import sdk
from deployer_modal.targets.common import ModalRunner
from deployer_modal.targets.local import ModalLocalRunner
from modal_support import FAKE_API

MODAL_ENV = (
    "MODAL_TOKEN_ID",
    "MODAL_TOKEN_SECRET",
    "MODAL_OAUTH_REFRESH_TOKEN",
    "MODAL_OAUTH_CLIENT_ID",
    "MODAL_OAUTH_CLIENT_SECRET",
    "MODAL_OAUTH_JWT_KEY",
    "MODAL_PROFILE",
    "MODAL_SERVER_URL",
    "MODAL_ENVIRONMENT",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "modal_cloud: needs a Modal account and Modal's servers; skipped unless "
        "DEPLOYER_MODAL_CLOUD=1 and a Modal token are set",
    )


@pytest.fixture(scope="session")
def deployer_strategy() -> str:
    return "modal"


@pytest.fixture(autouse=True)
def private_home(deployer_home: Path) -> Path:
    """Every test gets its own DEPLOYER_HOME."""
    return deployer_home


@pytest.fixture(autouse=True)
def no_modal_credentials(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Every test starts without a Modal credential (and with a fresh modal client), so what
    this machine's user configured never leaks in; cloud tests keep the real configuration."""
    if request.node.get_closest_marker("modal_cloud") is None:
        for key in MODAL_ENV:
            monkeypatch.delenv(key, raising=False)
        monkeypatch.setenv("MODAL_CONFIG_PATH", str(tmp_path / "no-modal.toml"))
    _reset_modal_client()
    yield
    _reset_modal_client()


def _reset_modal_client() -> None:
    """modal caches one client per process (from the first config it saw): forget it."""
    client_module = sys.modules.get("modal.client")
    if client_module is not None:
        client_module._Client._client_from_env = None


@pytest.fixture
def fake_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token of the right shape that no Modal server knows."""
    monkeypatch.setenv("MODAL_TOKEN_ID", "ak-deployertestfaketoken")
    monkeypatch.setenv("MODAL_TOKEN_SECRET", "as-deployertestfaketoken")


class Deployments(CoreDeployments):
    """Core's helper (real adapter, the runner class the target option picks) with modal's
    extras: resources, `local()`, the generated app imported, and a cleanup that stops only
    in-process runners (a cloud runner's stop would call Modal)."""

    def __init__(self, registry: StrategyRegistry, root: Path) -> None:
        super().__init__(registry, root, "modal")
        self.modules: list[ModuleType] = []

    def source(self, files: dict[str, str] | Path, name: str) -> Path:
        """A solution directory: `files` written under the test's root, or the path given."""
        if isinstance(files, Path):
            return files
        return write_solution(self.root / "solutions" / name, files)

    def context(
        self,
        files: dict[str, str] | Path,
        *,
        resources: Resources | None = None,
        **kwargs: Any,
    ) -> RunnerContext:
        context = super().context(files, **kwargs)
        return context.model_copy(update={"resources": resources or Resources()})

    def runner(self, context: RunnerContext, state: dict[str, Any] | None = None) -> ModalRunner:
        runner = super().runner(context, state)
        assert isinstance(runner, ModalRunner)
        return runner

    def local(self, files: dict[str, str] | Path, **kwargs: Any) -> ModalRunner:
        """A runner deployed with target=local."""
        options = {"target": "local", **kwargs.pop("options", {})}
        runner = self.runner(self.context(files, options=options, **kwargs))
        runner.deploy()
        return runner

    def app(self, files: dict[str, str] | Path, **kwargs: Any) -> ModuleType:
        """The adapted workspace's modal_app.py, imported for real (modal included)."""
        module = sdk.load_app(self.context(files, **kwargs).adapted_path)
        self.modules.append(module)
        return module

    def cleanup(self) -> None:
        for runner in reversed(self.runners):
            try:
                if isinstance(runner, ModalLocalRunner):
                    runner.stop()
            finally:
                close = getattr(runner, "close", None)
                if callable(close):
                    close()
        for module in self.modules:
            sdk.unload(module)


@pytest.fixture
def deployments(registry: StrategyRegistry, tmp_path: Path) -> Iterator[Deployments]:
    made = Deployments(registry, tmp_path)
    yield made
    made.cleanup()


class FakeModalApi:
    """The fake API server's process: its URL, the methods the client called and the
    requests it sent (each {"method": ..., "request": {field: value}})."""

    def __init__(self, proc: subprocess.Popen[str], port: int, log: Path) -> None:
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"
        self.log = log

    def calls(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").split() if self.log.exists() else []

    def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        path = self.log.with_suffix(".jsonl")
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        made = [json.loads(line) for line in lines]
        return [r["request"] for r in made if r["method"] == method] if method else made


@contextlib.contextmanager
def fake_api(
    root: Path, monkeypatch: pytest.MonkeyPatch, answers: dict[str, Any] | None = None
) -> Iterator[FakeModalApi]:
    """A loopback stand-in for Modal's API (see fake_modal_api.py); the real modal client is
    pointed at it."""
    root.mkdir(parents=True, exist_ok=True)
    log = root / "fake-modal-calls.log"
    command = [sys.executable, str(FAKE_API), str(log)]
    if answers is not None:
        (root / "answers.json").write_text(json.dumps(answers), encoding="utf-8")
        command.append(str(root / "answers.json"))
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.isdigit():
            raise RuntimeError(f"fake Modal API did not start: {line!r} {proc.stderr.read()}")
        api = FakeModalApi(proc, int(line), log)
        monkeypatch.setenv("MODAL_SERVER_URL", api.url)
        _reset_modal_client()
        yield api
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def fake_modal_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_token: None
) -> Iterator[FakeModalApi]:
    """Modal's API stood in for by a local gRPC server that rejects every token (no Modal
    account is reachable here); the real modal client is pointed at it."""
    with fake_api(tmp_path / "fake-api", monkeypatch) as api:
        yield api


@pytest.fixture
def modal_api_answering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_token: None
) -> Callable[[dict[str, Any]], FakeModalApi]:
    """The stand-in started with answers for some methods (one server per test)."""
    stack = contextlib.ExitStack()

    def start(answers: dict[str, Any]) -> FakeModalApi:
        return stack.enter_context(fake_api(tmp_path / "fake-api", monkeypatch, answers))

    with stack:
        yield start  # type: ignore[misc]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def hang_up_server() -> Iterator[str]:
    """A loopback server that accepts connections and closes them at once: the TCP check
    passes, then the modal client's own connection fails."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


class SdkCalls:
    """Calls into the modal SDK's public functions, recorded at the SDK function itself and
    passed through to it (so the real client still goes on to Modal's API, or its stand-in):
    the exact calls and arguments the cloud target makes, up to a cloud we cannot reach."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, Any, tuple[Any, ...], dict[str, Any]]] = []
        self._monkeypatch = monkeypatch

    def spy(self, owner: type, name: str) -> None:
        original = owner.__dict__[name]
        label = f"{owner.__name__}.{name}"
        if isinstance(original, classmethod):
            function = original.__func__

            def on_class(cls: type, *args: Any, **kwargs: Any) -> Any:
                self.calls.append((label, cls, args, kwargs))
                return function(cls, *args, **kwargs)

            self._monkeypatch.setattr(owner, name, classmethod(on_class))
            return

        if not hasattr(original, "__get__"):  # a static function (App.lookup)

            def static(*args: Any, **kwargs: Any) -> Any:
                self.calls.append((label, owner, args, kwargs))
                return original(*args, **kwargs)

            self._monkeypatch.setattr(owner, name, staticmethod(static))
            return

        def on_object(obj: Any, *args: Any, **kwargs: Any) -> Any:
            self.calls.append((label, obj, args, kwargs))
            return original.__get__(obj, owner)(*args, **kwargs)

        self._monkeypatch.setattr(owner, name, on_object)

    def made(self) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
        """The calls, without the object they were made on."""
        return [(label, args, kwargs) for label, _, args, kwargs in self.calls]

    def on(self, label: str) -> list[Any]:
        """The objects `label` was called on (e.g. the App that App.deploy deployed)."""
        return [obj for made, obj, _, _ in self.calls if made == label]


@pytest.fixture
def sdk_calls(monkeypatch: pytest.MonkeyPatch) -> SdkCalls:
    import modal

    calls = SdkCalls(monkeypatch)
    for owner, names in (
        (modal.App, ("deploy", "lookup")),
        (modal.Function, ("from_name", "remote", "remote_gen")),
        (modal.Cls, ("from_name",)),
    ):
        for name in names:
            calls.spy(owner, name)
    return calls
