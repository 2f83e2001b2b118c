"""target=bentocloud: refused in one line without a login, before anything is built; with a
login, the real `bentoml build` and bentoml's deployment API up to BentoCloud itself (a fake
endpoint on 127.0.0.1 stands in for the cloud account this machine does not have)."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bentoml_support import BENTOML_MISSING, HAS_BENTOML, write_solution
from deployer.adapter.agent import AdapterAgent
from deployer.deployment.factory import DeploymentFactory
from deployer.errors import DeployFailedError, StrategyUnavailableError
from deployer.models import DeploymentSetting, SolutionResult
from deployer.paths import deployment_dir, workspaces_dir
from deployer.plugin import RunnerContext, free_port, pid_start_time, spawn, terminate
from deployer.testing import wait_until
from deployer_bentoml import sdk
from deployer_bentoml.targets.bentocloud import BentoCloudRunner
from deployer_bentoml.workspace import prepare

pytestmark = pytest.mark.skipif(not HAS_BENTOML, reason=BENTOML_MISSING)

ECHO = {"main.py": "def predict(text):\n    return {'echo': text}\n"}


def bento_store(tmp_path: Path) -> list[Path]:
    """Every bento version in this test's BENTOML_HOME."""
    return [p for p in (tmp_path / "bentoml-home" / "bentos").glob("*/*") if p.is_dir()]


def test_no_login_is_one_clear_error_and_nothing_is_built(deployments, registry, tmp_path):
    source = deployments.solution("echo", ECHO)
    with pytest.raises(StrategyUnavailableError) as caught:
        deployments.deploy(source, name="cloudless", target="bentocloud")
    message = str(caught.value.message)
    assert "\n" not in message
    assert "no BentoCloud login" in message and "BENTO_CLOUD_API_KEY" in message
    assert "target=local" in (caught.value.hint or "")
    assert list(workspaces_dir().iterdir()) == []  # not even adapted
    assert bento_store(tmp_path) == []
    assert DeploymentFactory(registry).list() == []


def test_no_login_from_the_cli_exits_3_with_one_error_line(deployments, cli):
    source = deployments.solution("echo", ECHO)
    result = cli(
        "deploy", str(source), "--strategy", "bentoml", "--option", "target=bentocloud",
        timeout=120,
    )  # fmt: skip
    assert result.code == 3
    lines = result.err.strip().splitlines()
    assert lines[-2].startswith("error: ") and "no BentoCloud login" in lines[-2]
    assert lines[-1].startswith("hint: ")


def test_runner_refuses_before_building_without_a_login(registry, tmp_path):
    """The runner checks again itself, for callers that skip the factory."""
    source = write_solution(tmp_path / "echo", ECHO)
    adaptation = AdapterAgent(registry).adapt(
        SolutionResult(code_path=source), DeploymentSetting(strategy="bentoml", reasoning="t")
    )
    context = RunnerContext(
        name="direct",
        adapted_path=adaptation.adapted_path,
        run_interface=adaptation.run_interface,
        runtime_dir=deployment_dir("direct"),
        options={"target": "bentocloud"},
    )
    runner = BentoCloudRunner(context)
    with pytest.raises(StrategyUnavailableError, match="no BentoCloud login"):
        runner.deploy()
    assert not (context.runtime_dir / "build.log").exists()
    assert not (adaptation.adapted_path / "deployer_bentoml.json").exists()
    assert runner.provider == "bentocloud"


class FakeBentoCloud(BaseHTTPRequestHandler):
    """Answers every request as BentoCloud does for a bad API token, and records the paths."""

    seen: list[str] = []

    def _refuse(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({"error": "invalid api token", "message": "invalid api token"})
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads `seen` instead."""


@pytest.fixture
def fake_cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    FakeBentoCloud.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeBentoCloud)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("BENTO_CLOUD_API_KEY", "not-a-real-token")
    monkeypatch.setenv("BENTO_CLOUD_API_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    try:
        yield FakeBentoCloud.seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.real
@pytest.mark.slow
def test_fake_cloud_login_builds_the_bento_and_reports_the_refusal(
    deployments, registry, fake_cloud, tmp_path
):
    """With a (fake) login the strategy is available: the real `bentoml build` runs offline and
    bentoml's deployment API is called; the fake cloud's 401 comes back as one clear line, and
    the failed deployment leaves nothing behind."""
    assert registry.availability("bentoml", {"target": "bentocloud"}).available
    source = deployments.solution("echo", ECHO)
    with pytest.raises(DeployFailedError) as caught:
        deployments.deploy(source, name="cloudy", target="bentocloud")
    message = caught.value.message
    assert message.startswith("BentoCloud deployment of cloudy:")
    assert "401" in message and "invalid api token" in message and "\n" not in message
    assert any(
        path.startswith("GET /api/v1/bento_repositories/cloudy/bentos/") for path in fake_cloud
    )
    assert bento_store(tmp_path) == []  # the bento built for it was deleted again
    assert DeploymentFactory(registry).list() == []


@pytest.mark.real
@pytest.mark.slow
def test_bentoml_build_of_the_adapted_workspace_serves(registry, tmp_path):
    """`bentoml build` works offline here; the bento it makes is served by `bentoml serve TAG`
    and answers through bentoml's client."""
    from bentoml import SyncHTTPClient

    source = write_solution(tmp_path / "solution", {**ECHO, "requirements.txt": "python-slugify\n"})
    adaptation = AdapterAgent(registry).adapt(
        SolutionResult(code_path=source),
        DeploymentSetting(strategy="bentoml", reasoning="t"),
        name="built",
    )
    context = RunnerContext(
        name="built",
        adapted_path=adaptation.adapted_path,
        run_interface=adaptation.run_interface,
        runtime_dir=deployment_dir("built"),
        options={"target": "bentocloud"},
    )
    prepare(context, target="bentocloud")
    log = context.runtime_dir / "build.log"
    tag = sdk.build(context.adapted_path, log, sdk.build_env({}))
    assert tag.startswith("built:")
    (bento_dir,) = bento_store(tmp_path)
    manifest = (bento_dir / "bento.yaml").read_text()
    assert "DeployerService" in manifest
    requirements = (bento_dir / "env" / "python" / "requirements.txt").read_text()
    assert "python-slugify" in requirements

    port = free_port()
    server = spawn(
        [sys.executable, "-m", "bentoml", "serve", tag, "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=dict(os.environ),
        log_path=tmp_path / "serve.log",
    )
    try:

        def ready() -> bool:
            try:
                with SyncHTTPClient(f"http://127.0.0.1:{port}", server_ready_timeout=0) as c:
                    return c.is_ready(timeout=2)
            except Exception:
                return False

        assert wait_until(ready, limit=120), (tmp_path / "serve.log").read_text()[-2000:]
        with SyncHTTPClient(f"http://127.0.0.1:{port}", server_ready_timeout=0) as client:
            assert client.call("run", inputs={"text": "bento"}) == {"output": {"echo": "bento"}}
    finally:
        terminate(server.pid, server.pid, pid_start_time(server.pid), server)


class RecordedCloud:
    """BentoCloud as bentoml.deployment's functions see it, for the part no test here can
    reach: the cloud itself (no account, no network). The functions are replaced at the SDK
    (bentoml.deployment.get/create/update/start/terminate/delete), so every call deployer makes
    is recorded with its exact arguments; one deployment is kept, and an update rolls out at
    the next poll, as BentoCloud's rolling update does."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, object]]] = []
        self.bento: str | None = None  # what the one deployment runs; None: no deployment
        self.status = "running"
        self.rolling_to: str | None = None

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import bentoml

        for verb in ("get", "create", "update", "start", "terminate", "delete"):
            monkeypatch.setattr(bentoml.deployment, verb, getattr(self, verb))

    def _deployment(self) -> object:
        cloud = self

        class Deployment:  # the attributes of bentoml's Deployment that deployer reads
            cluster = "default"

            def get_bento(self, refetch: bool = True) -> str:
                return cloud.bento or ""

            def get_status(self, refetch: bool = True) -> object:
                return type("State", (), {"status": cloud.status})()

            def get_endpoint_urls(self, refetch: bool = True) -> list[str]:
                return ["https://cloudy.example.bentoml.ai"]

        return Deployment()

    def get(self, name: str, cluster: str | None = None) -> object:
        from bentoml.exceptions import NotFound

        self.calls.append(("get", {"name": name, "cluster": cluster}))
        if self.rolling_to:  # the update has rolled out by the next look
            self.bento, self.rolling_to = self.rolling_to, None
        if self.bento is None:
            raise NotFound(f"Deployment '{name}' not found.")
        return self._deployment()

    def create(self, **kwargs: object) -> object:
        self.calls.append(("create", kwargs))
        self.bento, self.status = str(kwargs["bento"]), "running"
        return self._deployment()

    def update(self, **kwargs: object) -> object:
        self.calls.append(("update", kwargs))
        self.rolling_to = str(kwargs["bento"])
        return self._deployment()

    def start(self, name: str, cluster: str | None = None) -> object:
        self.calls.append(("start", {"name": name, "cluster": cluster}))
        self.status = "running"
        return self._deployment()

    def terminate(self, name: str, cluster: str | None = None) -> object:
        self.calls.append(("terminate", {"name": name, "cluster": cluster}))
        self.status = "terminated"
        return self._deployment()

    def delete(self, name: str, cluster: str | None = None) -> None:
        self.calls.append(("delete", {"name": name, "cluster": cluster}))
        self.bento = None

    def take(self) -> list[tuple[str, dict[str, object]]]:
        """The calls since the last look, lookups (get) left out."""
        calls = [c for c in self.calls if c[0] != "get"]
        self.calls = []
        return calls


@pytest.mark.real
@pytest.mark.slow
def test_versions_are_bentocloud_updates_of_one_deployment(registry, tmp_path, monkeypatch):
    """Versions map onto BentoCloud's own: version 2 is a rolling update of the deployment to
    its bento (not a second deployment); stopping the replaced version 1 (as a redeploy does)
    terminates nothing; rolling back updates the deployment back to version 1's bento. The
    bentos are built for real; the cloud cannot be reached from here, so bentoml's deployment
    functions are recorded instead (RecordedCloud)."""
    monkeypatch.setenv("BENTO_CLOUD_API_KEY", "not-a-real-token")
    monkeypatch.setattr(sdk, "POLL_INTERVAL", 0.01)
    cloud = RecordedCloud()
    cloud.install(monkeypatch)
    source = tmp_path / "solution"
    options = {"target": "bentocloud", "scaling_min": 1, "scaling_max": 2}

    def version(number: int) -> BentoCloudRunner:
        write_solution(
            source, {"main.py": f"def predict(text):\n    return {{'v{number}': text}}\n"}
        )
        adaptation = AdapterAgent(registry).adapt(
            SolutionResult(code_path=source),
            DeploymentSetting(strategy="bentoml", reasoning="t"),
            name="cloudy",
        )
        context = RunnerContext(
            name="cloudy",
            adapted_path=adaptation.adapted_path,
            run_interface=adaptation.run_interface,
            runtime_dir=tmp_path / "runtime" / str(number),
            options=options,
            env={"GREETING": "hi"},
        )
        return BentoCloudRunner(context)

    first = version(1)
    first.deploy()
    bento1 = first.state["bento"]
    envs = [{"name": "GREETING", "value": "hi"}]
    assert cloud.take() == [
        ("create", {"name": "cloudy", "bento": bento1, "scaling_min": 1, "scaling_max": 2,
                    "envs": envs}),
    ]  # fmt: skip
    assert first.endpoint == "https://cloudy.example.bentoml.ai"

    second = version(2)
    second.deploy()
    bento2 = second.state["bento"]
    assert bento2 != bento1 and bento2.split(":")[0] == "cloudy"
    update = {"name": "cloudy", "bento": bento2, "scaling_min": 1, "scaling_max": 2,
              "envs": envs, "strategy": "RollingUpdate"}  # fmt: skip
    assert cloud.take() == [("update", update)]
    assert cloud.bento == bento2 and second.state["replaced_bento"] == bento1

    first.stop()  # what core does to the replaced version once the new one is live
    assert cloud.take() == [] and cloud.status == "running" and not first.state["running"]
    assert "runs " + bento2 in first.logs()

    first.start()  # rollback: health first, the deployment updated back to version 1's bento
    # (in the cluster the deployment reported at its creation)
    assert cloud.take() == [("update", {**update, "bento": bento1, "cluster": "default"})]
    assert cloud.bento == bento1 and first.state["running"]
    second.stop()
    assert cloud.take() == []

    second.remove()  # a pruned version: its own bento goes, the live deployment stays
    assert cloud.take() == [] and cloud.bento == bento1
    assert [p.name for p in bento_store(tmp_path)] == [bento1.split(":")[1]]
    first.remove()  # the live one: the deployment is deleted (terminated first)
    assert [name for name, _ in cloud.take()] == ["terminate", "delete"]
    assert bento_store(tmp_path) == []
