"""Versions of a cloud deployment as revisions of a LangGraph Platform deployment.

LangGraph Platform cannot be reached from here, so the one fake is at its HTTP boundary: an
httpx transport under langgraph-cli's real `HostBackendClient` (and the signed-URL upload)
answers as the control plane does and records every request — method, path, headers, JSON
body and the uploaded archive. What the deployment serves is a real `langgraph dev` server
(the stand-in for the deployment's URL); the revision making, polling, the switch of versions,
a failing revision and the rollback run through deployer, core's versions and langgraph-cli.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import deployer
from deployer.deployment.factory import DeploymentFactory
from deployer.deployment.versions import rollback
from deployer.errors import DeployFailedError
from deployer.plugins.registry import StrategyRegistry
from deployer_langgraph import sdk
from langgraph_support import DevServer, require_dev, write_solution

pytestmark = [pytest.mark.real, pytest.mark.slow]
KEY = "lsv2_test_key_for_the_control_plane"
DEPLOYMENT = "6f1c0a52-0000-4000-8000-00000000d001"
CONTROL_PLANE = "https://api.host.langchain.com"
UPLOAD = "https://storage.googleapis.com/langgraph-uploads/signed"


class ControlPlane:
    """Answers as LangGraph Platform's control plane (the paths langgraph-cli calls) and
    records each request; `fail_next` makes the next revision end BUILD_FAILED."""

    def __init__(self, custom_url: str) -> None:
        self.custom_url = custom_url
        self.requests: list[tuple[str, str, dict]] = []
        self.uploads: list[dict[str, str]] = []
        self.revisions: list[dict[str, str]] = []
        self.polls: dict[str, int] = {}
        self.fail_next = False
        self.keys: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content and request.method != "PUT" else {}
        self.requests.append((request.method, request.url.path, body))
        if request.url.host == "storage.googleapis.com":
            with tarfile.open(fileobj=io.BytesIO(request.content), mode="r:gz") as archive:
                self.uploads.append(
                    {
                        m.name: archive.extractfile(m).read().decode()
                        for m in archive.getmembers()
                        if m.isfile() and m.name.endswith((".py", ".json"))
                    }
                )
            return httpx.Response(200)
        self.keys.add(request.headers.get("x-api-key", ""))
        path = request.url.path.removeprefix(f"/v2/deployments/{DEPLOYMENT}")
        if request.method == "POST" and path == "/upload-url":
            return httpx.Response(
                200,
                json={
                    "upload_url": f"{UPLOAD}/{len(self.uploads)}",
                    "object_path": f"uploads/{len(self.uploads)}.tar.gz",
                    "upload_headers": {"x-goog-content-length-range": "0,209715200"},
                },
            )
        if request.method == "PATCH" and path == "":
            status = "BUILD_FAILED" if self.fail_next else "DEPLOYED"
            self.fail_next = False
            revision = {"id": f"rev-{len(self.revisions) + 1}", "final": status}
            self.revisions.insert(0, revision)
            return httpx.Response(200, json={"id": DEPLOYMENT, "name": "agent"})
        if request.method == "GET" and path == "/revisions":
            return httpx.Response(200, json={"resources": [self.shown(r) for r in self.revisions]})
        if request.method == "GET" and path.startswith("/revisions/"):
            revision = next(r for r in self.revisions if r["id"] == path.rsplit("/", 1)[1])
            return httpx.Response(200, json=self.shown(revision, poll=True))
        if request.method == "GET" and path == "":
            return httpx.Response(
                200, json={"id": DEPLOYMENT, "source_config": {"custom_url": self.custom_url}}
            )
        return httpx.Response(404, json={"detail": f"no route {request.method} {path}"})

    def shown(self, revision: dict[str, str], poll: bool = False) -> dict[str, str]:
        """A revision builds for one poll, then shows its final status."""
        if poll:
            self.polls[revision["id"]] = self.polls.get(revision["id"], 0) + 1
        built = self.polls.get(revision["id"], 0) > 1
        return {"id": revision["id"], "status": revision["final"] if built else "BUILDING"}


def solution(root: Path, reply: str) -> Path:
    code = f"def predict(name: str) -> dict:\n    return {{'{reply}': name}}\n"
    return write_solution(root, {"main.py": code})


@pytest.fixture
def platform(
    registry: StrategyRegistry,
    start_dev_server: Callable[[Path], DevServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    """The deployment's URL: a real langgraph dev serving a copy adapted as deployer ships
    it; its control plane: the recording transport."""
    from deployer.adapter.agent import AdapterAgent
    from deployer.models import DeploymentSetting, SolutionResult

    require_dev()
    served = solution(tmp_path / "served", "served")
    adapted = AdapterAgent(registry).adapt(
        SolutionResult(code_path=served),
        DeploymentSetting(strategy="langgraph", reasoning="the platform's build of it"),
    )
    server = start_dev_server(adapted.adapted_path)
    plane = ControlPlane(server.url)
    monkeypatch.setattr(sdk, "CONTROL_PLANE_TRANSPORT", httpx.MockTransport(plane))
    monkeypatch.setattr(sdk, "REVISION_POLL", 0.05)
    monkeypatch.setenv("LANGSMITH_API_KEY", KEY)
    yield plane
    factory = DeploymentFactory(registry)
    for name in factory.store.names():
        factory.remove(name, force=True)


def test_each_version_is_a_revision_of_the_platform_deployment(platform, tmp_path) -> None:
    root = solution(tmp_path / "sol", "v1")
    options = {"target": "cloud", "deployment_id": DEPLOYMENT}
    # the deployment's URL comes from the control plane (source_config.custom_url)
    first = deployer.deploy(root, "langgraph", name="plat", **options)
    assert first.runner.state["revision_id"] == "rev-1"
    assert first.runner.state["url"] == platform.custom_url
    assert first.run({"name": "a"}) == {"status": "success", "output": {"served": "a"}}
    # the calls `langgraph deploy` makes for a remote build, in its order, with its payloads
    calls = [(method, path) for method, path, _ in platform.requests]
    base = f"/v2/deployments/{DEPLOYMENT}"
    assert calls[:5] == [
        ("POST", f"{base}/upload-url"),
        ("PUT", "/langgraph-uploads/signed/0"),
        ("PATCH", base),
        ("GET", f"{base}/revisions"),
        ("GET", f"{base}/revisions/rev-1"),
    ]
    assert platform.requests[0][2] == {"supports_upload_headers": True}
    assert platform.requests[2][2] == {
        "revision_source": "internal_source",
        "source_revision_config": {
            "source_tarball_path": "uploads/0.tar.gz",
            "langgraph_config_path": "langgraph.json",
        },
    }
    assert platform.keys == {KEY}
    shipped = platform.uploads[0]
    assert "{'v1': name}" in shipped["main.py"] and "graphs" in json.loads(
        shipped["langgraph.json"]
    )

    solution(root, "v2")
    second = deployer.deploy(root, "langgraph", name="plat", **options)
    assert second.version == 2 and second.runner.state["revision_id"] == "rev-2"
    assert "{'v2': name}" in platform.uploads[1]["main.py"]

    # version 3's revision fails to build: the name stays on version 2 (and its revision)
    solution(root, "v3")
    platform.fail_next = True
    with pytest.raises(DeployFailedError) as failed:
        deployer.deploy(root, "langgraph", name="plat", **options)
    message = failed.value.message
    assert "version 3 of 'plat' failed, so plat stays on version 2" in message
    assert "revision rev-3" in message and "BUILD_FAILED" in message and "\n" not in message
    assert deployer.attach("plat").runner.state["revision_id"] == "rev-2"

    # rollback: version 1's kept copy is shipped again, as a new revision that goes live
    back = rollback(DeploymentFactory(), "plat")
    assert back.version == 1 and back.runner.state["revision_id"] == "rev-4"
    assert back.runner.state["revisions"] == ["rev-1", "rev-4"]
    assert "{'v1': name}" in platform.uploads[-1]["main.py"]
    assert back.run({"name": "r"})["output"] == {"served": "r"}
    assert "revision rev-4 is DEPLOYED" in back.logs()


def test_a_control_plane_that_refuses_the_key_is_one_line(platform, tmp_path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"detail": "Invalid API key"})

    sdk.CONTROL_PLANE_TRANSPORT = httpx.MockTransport(refuse)  # undone by monkeypatch
    root = solution(tmp_path / "sol", "v1")
    with pytest.raises(DeployFailedError) as failed:
        deployer.deploy(root, "langgraph", name="refused", target="cloud", deployment_id="d1")
    message = failed.value.message
    assert "LangGraph Platform: requesting an upload URL failed" in message
    assert "403" in message and "Invalid API key" in message and "\n" not in message
    assert KEY not in message
