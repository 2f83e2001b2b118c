"""Published shapes on the other ecosystems' strategies (issue 12, across ecosystems): a Cog
predictor and an MLflow model served by a real `bentoml serve`, a Truss model on a real
`langgraph dev`, a LangGraph graph (and more shapes) through the generated Modal app with
`.local()`, each with no --entrypoint; and the one-line refusal of a cell that cannot work.

Servers are slow to start here, so each server's deployments are made once per module and
several calls go to each."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import deployer
from deployer.deployment.software import DeployedSoftware
from deployer.plugins.registry import StrategyRegistry
from deployer.testing import DeployerCli, tree_hash, write_solution
from e2e_support import EXAMPLES

PUBLISHED = EXAMPLES / "published"


def needs(*modules: str) -> pytest.MarkDecorator:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("cross")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEPLOYER_HOME", str(root / "home"))
        patch.setenv("BENTOML_HOME", str(root / "bentoml-home"))
        patch.setenv("BENTOML_DO_NOT_TRACK", "True")
        patch.delenv("DEPLOYER_STRATEGIES", raising=False)
        yield root


class Made:
    """Deployments of one module, removed at its end (a server is never left running)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.registry = StrategyRegistry()
        self.software: dict[str, DeployedSoftware] = {}

    def deploy(self, key: str, source: Path, strategy: str, **kwargs: Any) -> DeployedSoftware:
        if key not in self.software:
            before = tree_hash(source)
            self.software[key] = deployer.deploy(
                source,
                strategy=strategy,
                name=key,
                registry=self.registry,
                startup_timeout=240.0,
                run_timeout=60.0,
                **kwargs,
            )
            assert tree_hash(source) == before  # the solution is never modified
        return self.software[key]

    def cleanup(self) -> None:
        for software in self.software.values():
            software.remove()


@pytest.fixture(scope="module")
def made(home: Path) -> Iterator[Made]:
    deployments = Made(home)
    yield deployments
    deployments.cleanup()


# -- BentoML: `bentoml serve` -------------------------------------------------------------------

PEAK_SOLUTION = {
    "main.py": """
    import threading
    import time

    _lock = threading.Lock()
    _running = [0, 0]  # now, peak


    def predict(value=None, hold: float = 0.0):
        '''Answers `value` as it came; with `hold`, sleeps and answers the most calls seen
        running at once.'''
        with _lock:
            _running[0] += 1
            _running[1] = max(_running)
        time.sleep(hold)
        with _lock:
            _running[0] -= 1
        return {"peak": _running[1]} if hold else value
    """
}


@pytest.mark.real
@pytest.mark.slow
@needs("bentoml", "cog")
def test_cog_predictor_on_bentoml(made: Made) -> None:
    software = made.deploy("cog-on-bentoml", PUBLISHED / "cog_predictor", "bentoml")
    assert software.info.run_interface.entry_kind == "class"
    assert software.info.run_interface.flavor == "cog"
    # a bare string, Input() defaults filled in, constraints checked before the call
    assert software.run({"name": "Ada", "times": 2}) == {
        "status": "success",
        "output": "hello Ada! hello Ada!",
    }
    assert software.run({}) == {"status": "success", "output": "hello world!"}
    too_many = software.run({"times": 9})
    assert too_many["status"] == "error" and "times" in too_many["error"]
    wrong = software.run({"punctuation": "?"})
    assert wrong["status"] == "error" and "punctuation" in wrong["error"]
    assert software.is_healthy()


@pytest.mark.real
@pytest.mark.slow
@needs("bentoml", "mlflow")
def test_mlflow_model_on_bentoml(made: Made) -> None:
    software = made.deploy("mlflow-on-bentoml", PUBLISHED / "mlflow_model", "bentoml")
    assert software.info.run_interface.flavor == "mlflow"
    assert software.run({"text": "good and great"}) == {"status": "success", "output": [3.0]}
    assert software.run({"text": "bad"}) == {"status": "success", "output": [-1.0]}


@pytest.mark.real
@pytest.mark.slow
@needs("bentoml")
def test_every_json_value_round_trips_and_calls_overlap_on_bentoml(made: Made, home: Path) -> None:
    source = write_solution(home / "peak", PEAK_SOLUTION)
    software = made.deploy("peak-on-bentoml", source, "bentoml")
    for value in ["a bare string", "", 0, 2.5, True, False, None, [1, "two", None], {"k": [{}]}]:
        assert software.run({"value": value}) == {"status": "success", "output": value}
    peaks: list[Any] = []

    def call() -> None:
        peaks.append(software.run({"hold": 0.3}))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(p["status"] == "success" for p in peaks), peaks
    # with BentoML's own default (threads=1) every call would see only itself running
    assert max(p["output"]["peak"] for p in peaks) > 1


@pytest.mark.real
@pytest.mark.slow
@needs("bentoml")
def test_src_layout_package_on_bentoml(made: Made) -> None:
    software = made.deploy("src-on-bentoml", PUBLISHED / "src_layout_pkg", "bentoml")
    assert software.run({"text": "a b a", "top": 1}) == {
        "status": "success",
        "output": {"words": 3, "top": ["a"]},
    }


# -- LangGraph: `langgraph dev` ------------------------------------------------------------------


@pytest.mark.real
@pytest.mark.slow
@needs("langgraph_cli", "langgraph_api", "pydantic")
def test_truss_model_on_langgraph(made: Made) -> None:
    software = made.deploy("truss-on-langgraph", PUBLISHED / "truss_model", "langgraph")
    assert software.info.run_interface.flavor == "truss"
    assert software.info.runner_state["kind"] == "function"  # wrapped in a one-node graph
    assert software.run({"text": "The cat and the hat"}) == {
        "status": "success",
        "output": {"words": 3, "unique": 3},
    }
    # preprocess strips, the pydantic input's default applies, postprocess dumps the model
    assert software.run({"text": "  Hat HAT  ", "lowercase": False}) == {
        "status": "success",
        "output": {"words": 2, "unique": 2},
    }
    assert list(software.stream({"text": "a b c"})) == [
        {"status": "item", "output": {"words": 2, "unique": 2}},
        {"status": "success"},
    ]


# -- Modal: the generated app called with .local() ------------------------------------------------

MODAL_CELLS = [
    ("langgraph_graph", {"text": "abc"}, {"text": "abc", "reversed": "cba", "length": 3}),
    ("cog_runner", {"text": "education"}, {"vowels": 5, "text": "education"}),
    ("truss_model", {"text": "The cat and the hat"}, {"words": 3, "unique": 3}),
    ("flask_app", {"number": 4}, {"number": 4, "even": True}),
    ("src_layout_pkg", {"text": "a b a", "top": 1}, {"words": 3, "top": ["a"]}),
]


@pytest.mark.real
@needs("modal", "langgraph", "cog", "flask")
@pytest.mark.parametrize(
    ("shape", "inputs", "expected"), MODAL_CELLS, ids=[c[0] for c in MODAL_CELLS]
)
def test_published_shapes_on_modal_local(
    made: Made, shape: str, inputs: dict[str, Any], expected: Any
) -> None:
    software = made.deploy(
        f"{shape.replace('_', '-')}-on-modal", PUBLISHED / shape, "modal", target="local"
    )
    assert software.run(inputs) == {"status": "success", "output": expected}
    assert software.run(inputs) == {"status": "success", "output": expected}  # loaded once


# -- a cell that cannot work -----------------------------------------------------------------------


def test_a_web_app_on_langgraph_is_refused_in_one_line_before_adapting(tmp_path: Path) -> None:
    cli = DeployerCli(tmp_path / "home")
    source = PUBLISHED / "fastapi_app"
    refused = cli("deploy", str(source), "--strategy", "langgraph")
    assert refused.code == 2
    first = refused.err.strip().splitlines()[0]
    assert "main:app is a fastapi asgi (from Procfile web)" in first
    assert "a LangGraph server runs graphs" in first and "langgraph.json http.app" in first
    assert "Traceback" not in refused.err
    workspaces = tmp_path / "home" / "workspaces"
    assert not workspaces.exists() or not [p for p in workspaces.iterdir() if p.is_dir()]
    assert cli("ls", "--json").json() == []
