"""Published shapes deployed on the real docker strategy with no --entrypoint (issue 12): a Cog
predictor (the real `cog` package installed in the image from cog.yaml), a Truss model with a
pydantic-annotated predict, a FastAPI app, a Flask app, a compiled LangGraph graph, a Gradio
Interface and a src-layout project installed into the image, each served by core's serving
runtime in its container, called with `deployer run` (its own process) and
`software.stream()` (reattached through the state store)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer.deployment.factory import DeploymentFactory
from deployer.plugins.registry import StrategyRegistry
from deployer.testing import tree_hash
from docker_support import EXAMPLES, Cli, Engine

pytestmark = [pytest.mark.real, pytest.mark.slow]

PUBLISHED = EXAMPLES / "published"
# one shape per entry kind the generated image serves (class, asgi, wsgi, graph, gradio) and
# one installed project (src layout, re-exported names, a version from git). gradio_interface
# is the slowest (~2 min here, most of it gradio's wheels going into the image).
SHAPES = [
    ("cog_predictor", {"name": "Ada", "times": 2}, "hello Ada! hello Ada!"),
    ("truss_model", {"text": "The cat and the hat"}, {"words": 3, "unique": 3}),
    ("fastapi_app", {"text": "hello big world"}, {"words": 3, "longest": "hello"}),
    ("flask_app", {"number": 4}, {"number": 4, "even": True}),
    ("langgraph_graph", {"text": "abc"}, {"text": "abc", "reversed": "cba", "length": 3}),
    ("src_layout_pkg", {"text": "a b a", "top": 1}, {"words": 3, "top": ["a"]}),
    ("gradio_interface", {"name": "Ada", "intensity": 3}, "Hello, Ada!!!"),
]

STREAMED = {"langgraph_graph": [{"reverse": {"reversed": "cba"}}, {"measure": {"length": 3}}]}


@pytest.fixture
def cli(tmp_path: Path, docker_engine: Engine) -> Iterator[Cli]:
    runner = Cli(tmp_path / "home", {"DOCKER_HOST": docker_engine.host})
    yield runner
    listing = runner("ls", "--json")  # never leave a container behind
    if listing.code == 0:
        for row in json.loads(listing.out):
            runner("rm", row["name"], "--force")


@pytest.mark.parametrize(("shape", "inputs", "expected"), SHAPES, ids=[s[0] for s in SHAPES])
def test_each_shape_deploys_on_docker_without_an_entrypoint(
    cli: Cli,
    docker_engine: Engine,
    registry: StrategyRegistry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    shape: str,
    inputs: dict,
    expected: object,
) -> None:
    source = PUBLISHED / shape
    name = f"pub-{shape.replace('_', '-')}"
    docker_engine.tags.add(f"deployer/{name}:v1")
    before = tree_hash(source)
    deployed = cli(
        "deploy", str(source), "--strategy", "docker", "--name", name, "--json",
        f"--option=base_image={docker_engine.base_image}", "--option=wheelhouse=true",
        "--option=remove_image=true",
    )  # fmt: skip
    assert deployed.code == 0, deployed.err
    info = json.loads(deployed.out)
    assert info["status"] == "running" and info["runner_state"]["mode"] == "generated"
    result = cli("run", name, json.dumps(inputs))
    assert result.code == 0, result.err
    assert json.loads(result.out) == {"status": "success", "output": expected}
    monkeypatch.setenv("DEPLOYER_HOME", str(tmp_path / "home"))
    software = DeploymentFactory(registry).attach(name)
    # a graph streams its nodes' updates as they happen; the others answer in one item
    items = STREAMED.get(shape, [expected])
    try:
        assert list(software.stream(inputs)) == [
            *({"status": "item", "output": item} for item in items),
            {"status": "success"},
        ]
    finally:
        software.runner.close()
    assert cli("rm", name).code == 0
    assert tree_hash(source) == before  # the solution is never modified
