"""Published shapes deployed with the real local strategy and no --entrypoint (issue 12):
functions, Cog predictors and runners, a Truss model, an MLflow PythonModel, a compiled
LangGraph graph, FastAPI and Flask apps, each loaded by core's serving runtime in its own
environment (with its real package installed there) and called with `deployer run`."""

from __future__ import annotations

import pytest

from deployer.testing import DeployerCli, tree_hash
from e2e_support import EXAMPLES

PUBLISHED = EXAMPLES / "published"


@pytest.mark.slow
def test_dependencies_only_in_setup_py_are_installed(cli: DeployerCli) -> None:
    source = PUBLISHED / "setup_py_deps"
    before = tree_hash(source)
    deployed = cli("deploy", str(source), "--name", "setuppy")
    assert deployed.code == 0, deployed.err
    result = cli("run", "setuppy", '{"text": "Hello World", "separator": "_"}')
    assert result.json() == {"status": "success", "output": "hello_world"}
    assert tree_hash(source) == before  # the solution is never modified


SHAPES = [
    ("cog_predictor", {"name": "Ada", "times": 2}, "hello Ada! hello Ada!"),
    ("cog_runner", {"text": "education"}, {"vowels": 5, "text": "education"}),
    ("cog_deps", {"title": "Hello World"}, "hello-world"),
    ("truss_model", {"text": "The cat and the hat"}, {"words": 3, "unique": 3}),
    ("mlflow_model", {"text": "good and great"}, [3.0]),
    ("langgraph_graph", {"text": "abc"}, {"text": "abc", "reversed": "cba", "length": 3}),
    ("fastapi_app", {"text": "hello big world"}, {"words": 3, "longest": "hello"}),
    ("flask_app", {"number": 4}, {"number": 4, "even": True}),
]


@pytest.mark.slow
@pytest.mark.parametrize(("shape", "inputs", "expected"), SHAPES, ids=[s[0] for s in SHAPES])
def test_each_shape_deploys_without_an_entrypoint_and_answers(
    cli: DeployerCli, shape: str, inputs: dict, expected: object
) -> None:
    import json

    source = PUBLISHED / shape
    before = tree_hash(source)
    deployed = cli("deploy", str(source), "--strategy", "local", "--name", shape.replace("_", "-"))
    assert deployed.code == 0, deployed.err
    result = cli("run", shape.replace("_", "-"), json.dumps(inputs))
    assert result.json() == {"status": "success", "output": expected}, result.err
    assert tree_hash(source) == before  # the solution is never modified


def test_a_kind_the_target_cannot_run_is_refused_in_one_line(cli: DeployerCli) -> None:
    source = PUBLISHED / "cog_predictor"
    refused = cli("deploy", str(source), "--strategy", "local", "--option", "mode=inprocess")
    assert refused.code == 2
    assert "predict:Predictor is a cog class (from cog.yaml predict)" in refused.err
    assert "cannot run (it runs: function)" in refused.err
    assert str(source) in refused.err and "Traceback" not in refused.err
