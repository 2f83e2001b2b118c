"""Core's serving runtime inside a real container (one image for the module, the machine is
slow): the bearer token, readiness while a slow setup() runs, the input schema, streaming a
generator through `software.stream()`, and a build context that is what core's ignore rules
keep."""

from __future__ import annotations

import contextlib
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from deployer.plugins.registry import StrategyRegistry
from deployer_docker.runner import DockerRunner
from docker_support import Deployments, Engine

pytestmark = [pytest.mark.real, pytest.mark.slow]

SETUP_SECONDS = 6
SOLUTION = {
    "model.py": f"""
    import time
    from typing import Literal


    class Tokenizer:
        def setup(self) -> None:
            time.sleep({SETUP_SECONDS})  # a model that takes a while to load
            self.prefix = "tok"

        def predict(self, text: str, count: int = 3, style: Literal["plain", "upper"] = "plain"):
            for index in range(count):
                item = f"{{self.prefix}}{{index}}:{{text}}"
                yield item.upper() if style == "upper" else item
    """,
    ".gitignore": "*.log\n",
}


@dataclass
class Deployed:
    runner: DockerRunner
    engine: Engine
    seen_while_deploying: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    @property
    def token(self) -> str:
        return self.runner.token_file.read_text().strip()

    def get(self, path: str, **headers: str) -> httpx.Response:
        return httpx.get(f"{self.runner.endpoint}{path}", headers=headers, trust_env=False)

    def post(self, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
        return httpx.post(
            f"{self.runner.endpoint}{path}", json=body, headers=headers, trust_env=False
        )


def watch_readiness(runner: DockerRunner, done: threading.Event) -> list[tuple[int, dict]]:
    """/readyz as seen from outside while deploy() runs (with the token, once it exists)."""
    seen: list[tuple[int, dict]] = []
    while not done.is_set():
        port = runner.state.get("port")
        token = runner.token_file.read_text().strip() if runner.token_file.is_file() else ""
        if port and token and runner.state.get("container_id"):
            with contextlib.suppress(httpx.HTTPError, ValueError):
                answer = httpx.get(
                    f"http://127.0.0.1:{port}/readyz",
                    headers={"Authorization": f"Bearer {token}"},
                    trust_env=False,
                    timeout=2,
                )
                seen.append((answer.status_code, answer.json()))
        time.sleep(0.2)
    return seen


@pytest.fixture(scope="module")
def deployed(
    registry: StrategyRegistry, docker_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    root = tmp_path_factory.mktemp("runtime")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEPLOYER_HOME", str(root / "home"))
        made = Deployments(registry, root, docker_engine)
        context = made.context(SOLUTION, name="rt", entrypoint="model:Tokenizer")
        # files that appear in the workspace after the copy: the rules leave them out
        (context.adapted_path / "debug.log").write_text("left out\n")
        (context.adapted_path / "__pycache__").mkdir(exist_ok=True)
        (context.adapted_path / "__pycache__" / "stale.pyc").write_text("")
        runner = made.runner(context)
        done = threading.Event()
        seen: list[tuple[int, dict]] = []
        watcher = threading.Thread(target=lambda: seen.extend(watch_readiness(runner, done)))
        watcher.start()
        try:
            runner.deploy()
        finally:
            done.set()
            watcher.join()
        try:
            yield Deployed(runner, docker_engine, seen)
        finally:
            made.cleanup()


def test_requests_need_the_deployments_token(deployed: Deployed) -> None:
    body = {"text": "a", "count": 1}
    missing = deployed.post("/run", body)
    assert missing.status_code == 401 and missing.json()["status"] == "error"
    wrong = deployed.post("/run", body, Authorization="Bearer not-the-token")
    assert wrong.status_code == 401
    assert deployed.get("/schema").status_code == 401
    right = deployed.post("/run", body, Authorization=f"Bearer {deployed.token}")
    assert right.status_code == 200
    assert right.json() == {"status": "success", "output": ["tok0:a"]}
    assert deployed.runner.run({"text": "b", "count": 2}) == {
        "status": "success",
        "output": ["tok0:b", "tok1:b"],
    }
    assert deployed.get("/livez").json() == {"status": "alive"}  # open: liveness only


def test_the_token_stays_beside_the_state(deployed: Deployed) -> None:
    """0600 in the runtime directory; not in the state, the image, the workspace or the logs."""
    runner = deployed.runner
    token = deployed.token
    assert stat.S_IMODE(runner.token_file.stat().st_mode) == 0o600
    assert token not in repr(runner.state)
    assert token not in runner.logs()
    client = deployed.engine.client()
    try:
        image = client.images.get(runner.state["image_id"])
        assert not any(token in str(value) for value in image.attrs["Config"].values())
        container = client.containers.get(runner.state["container_id"])
        # -e: a url-safe token may start with "-" (1 in 64), which grep would take as an option
        code, listing = container.exec_run(["grep", "-rlF", "-e", token, "/app"], user="10001")
        assert (code, listing) == (1, b"")  # grep found it in no file of the image
    finally:
        client.close()
    assert not any(
        token in p.read_text(errors="ignore") for p in _files(runner.context.adapted_path)
    )


def _files(root: Path) -> Iterator[Path]:
    return (path for path in root.rglob("*") if path.is_file())


def test_deploy_waits_for_readiness(deployed: Deployed) -> None:
    """/readyz said 503 `loading` while setup() slept (deploy had not returned), then ready."""
    statuses = [(code, body["status"]) for code, body in deployed.seen_while_deploying]
    assert (503, "loading") in statuses, statuses
    ready = deployed.get("/readyz", Authorization=f"Bearer {deployed.token}")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and body["entrypoint"] == "model:Tokenizer"
    assert body["entry_kind"] == "class" and body["streaming"] is True
    assert deployed.runner.is_healthy() and deployed.runner.status() == "running"


def test_schema_from_the_annotations(deployed: Deployed) -> None:
    schema = deployed.get("/schema", Authorization=f"Bearer {deployed.token}").json()
    properties = schema["properties"]
    assert properties["text"]["type"] == "string"
    assert properties["count"] == {"type": "integer", "default": 3}
    assert properties["style"]["enum"] == ["plain", "upper"]
    assert schema["required"] == ["text"]
    refused = deployed.runner.run({"text": "x", "count": "three"})
    assert refused["status"] == "error" and "count" in refused["error"]


def test_a_generator_streams_item_by_item(deployed: Deployed) -> None:
    items = list(deployed.runner.stream({"text": "s", "count": 3, "style": "upper"}))
    assert items == [
        {"status": "item", "output": "TOK0:S"},
        {"status": "item", "output": "TOK1:S"},
        {"status": "item", "output": "TOK2:S"},
        {"status": "success"},
    ]


def test_the_build_context_is_what_the_ignore_rules_keep(deployed: Deployed) -> None:
    client = deployed.engine.client()
    try:
        container = client.containers.get(deployed.runner.state["container_id"])
        code, listing = container.exec_run(["ls", "-A", "/app"], user="10001")
    finally:
        client.close()
    names = set(listing.decode().split())
    assert code == 0
    assert {"model.py", "deployer_runtime", "deployer_entry.json"} <= names
    assert "debug.log" not in names and "__pycache__" not in names
