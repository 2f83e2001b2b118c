"""Against Modal itself: deploy, call remotely and over HTTPS, stop, start, remove.

These need a Modal account and Modal's servers, which this project's machines cannot reach;
they are skipped with the reason unless DEPLOYER_MODAL_CLOUD=1 and a Modal token are set.
(Not marked `real`: CI cannot provide them, so a skip there is expected, not a failure.)
Each deployment gets a unique name and is removed (app stopped, secret deleted) afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from deployer.deployment.factory import DeploymentFactory, attach
from deployer.deployment.software import DeployedSoftware
from deployer.models import DeployConfig, SolutionResult
from modal_support import EXAMPLES, cloud_ready, write_solution

REASON = cloud_ready()
pytestmark = [pytest.mark.modal_cloud, pytest.mark.skipif(REASON is not None, reason=str(REASON))]


@pytest.fixture
def deploy(registry) -> Iterator[Any]:
    made: list[DeployedSoftware] = []

    def make(source, **kwargs: Any) -> DeployedSoftware:
        config = DeployConfig(
            solution=SolutionResult(code_path=source),
            strategy="modal",
            name=f"deployer-test-{uuid.uuid4().hex[:8]}",
            startup_timeout=900,
            **kwargs,
        )
        software = DeploymentFactory(registry).create(config)
        made.append(software)
        return software

    yield make
    for software in made:
        software.remove()


def test_function_remote_round_trip(deploy) -> None:
    software = deploy(EXAMPLES / "hello")
    assert software.info.provider == "modal"
    assert software.run({"name": "Ada"}) == {
        "status": "success",
        "output": {"message": "Hello, Ada!", "length": 3},
    }
    wrong = software.run({"nme": "Ada"})
    assert wrong["status"] == "error" and "unknown field" in wrong["error"]
    again = attach(software.name)  # as another process would
    assert again.run({"name": "Bo"})["output"]["message"] == "Hello, Bo!"
    assert again.is_healthy()
    again.stop()
    assert not attach(software.name).is_healthy()
    assert attach(software.name).run({"name": "Cy"})["status"] == "error"
    restarted = attach(software.name)
    restarted.start()
    assert restarted.run({"name": "Cy"})["output"]["message"] == "Hello, Cy!"
    assert isinstance(restarted.logs(tail=50), str)


def test_class_with_load_step_and_secret(deploy, tmp_path) -> None:
    software = deploy(EXAMPLES / "modal_classifier")
    first = software.run({"text": "the striker scored"})["output"]
    assert first["topic"] == "sport" and first["load_calls"] == 1
    assert first["loaded_before_first_call"] is True
    secretive = deploy(
        write_solution(
            tmp_path / "secretive",
            {"main.py": "import os\n\ndef predict():\n    return len(os.environ['MY_SECRET'])\n"},
        ),
        env={"MY_SECRET": "abcdef"},
    )
    assert secretive.run({}) == {"status": "success", "output": 6}


def test_web_endpoint_over_https(deploy) -> None:
    software = deploy(EXAMPLES / "hello", options={"web": True})
    assert software.endpoint and software.endpoint.startswith("https://")
    assert software.run({"name": "Ada"})["output"]["message"] == "Hello, Ada!"


def test_stream_through_remote_gen_and_field_errors(deploy, tmp_path) -> None:
    source = write_solution(
        tmp_path / "tokens",
        {"main.py": "def predict(text: str):\n    for word in text.split():\n        yield word\n"},
    )
    software = deploy(source)
    assert list(software.stream({"text": "a b"})) == [
        {"status": "item", "output": "a"},
        {"status": "item", "output": "b"},
        {"status": "success"},
    ]
    wrong = software.run({"text": 3})
    assert wrong["status"] == "error" and wrong["field"] == "text"


def test_authors_app_deployed_as_it_is_then_versions(registry, tmp_path) -> None:
    from deployer.deployment.versions import rollback

    source = tmp_path / "own-app"
    source.mkdir()
    app_py = (EXAMPLES / "published" / "modal_app" / "app.py").read_text()
    (source / "app.py").write_text(app_py)
    name = f"deployer-test-{uuid.uuid4().hex[:8]}"
    factory = DeploymentFactory(registry)

    def make() -> DeployedSoftware:
        config = DeployConfig(
            solution=SolutionResult(code_path=source),
            strategy="modal",
            name=name,
            entrypoint="app:shout",
            startup_timeout=900,
        )
        return factory.create(config)

    try:
        first = make()
        assert first.info.runner_state["variant"] == "author"
        assert first.run({"text": "hi", "times": 2}) == {"status": "success", "output": "HI HI"}
        (source / "app.py").write_text(app_py.replace("text.upper()", "text.upper() + '!'"))
        second = make()
        assert second.version == 2
        assert second.run({"text": "hi"}) == {"status": "success", "output": "HI!"}
        v1, v2 = first.info.runner_state["modal_version"], second.runner.state["modal_version"]
        assert v2 > v1
        back = rollback(factory, name)  # Modal's own rollback to v1's Modal version
        assert back.run({"text": "hi"}) == {"status": "success", "output": "HI"}
    finally:
        factory.remove(name, force=True)
