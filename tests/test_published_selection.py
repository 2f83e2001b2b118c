"""Offline selection ranks each published shape's natural strategy first (issue 12), using the
strategies' real config.yaml signals as installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.models import SolutionResult
from deployer.plugins.registry import StrategyRegistry
from deployer.selector.agent import SelectorAgent

PUBLISHED = Path(__file__).resolve().parents[1] / "examples" / "published"
NATURAL = {
    "bentoml_asgi": "bentoml",
    "bentoml_service": "bentoml",
    "cog_deps": "docker",
    "cog_predictor": "docker",
    "cog_runner": "docker",
    "fastapi_app": "docker",
    "flask_app": "docker",
    "gradio_interface": "docker",
    "langgraph_graph": "langgraph",
    "mlflow_model": "docker",
    "modal_app": "modal",
    "setup_py_deps": "local",
    "src_layout_pkg": "local",
    "truss_model": "docker",
}


@pytest.fixture(scope="module")
def ranker() -> SelectorAgent:
    return SelectorAgent(StrategyRegistry(), model="")


@pytest.mark.parametrize("fixture", sorted(NATURAL))
def test_natural_strategy_ranks_first(ranker: SelectorAgent, fixture: str) -> None:
    expected = NATURAL[fixture]
    installed = {s.name for s in ranker.registry.list_strategies()}
    needed = {"local", "docker", "bentoml", "langgraph", "modal"}
    if not needed <= installed:
        pytest.skip(f"needs every strategy installed; missing {sorted(needed - installed)}")
    ranking = ranker.rank(SolutionResult(code_path=PUBLISHED / fixture))
    assert ranking[0].strategy == expected, [(r.strategy, r.score, r.reasons) for r in ranking]
    assert ranking[0].score > ranking[1].score  # not settled by a tie


GPU_COG = {
    "cog.yaml": 'build:\n  gpu: true\n  python_version: "3.11"\n  python_packages:\n'
    '    - "torch==2.3.0"\npredict: "predict.py:Predictor"\n',
    "predict.py": "from cog import BasePredictor, Input\n\n\nclass Predictor(BasePredictor):\n"
    "    def predict(self, x: int = Input(default=1)) -> int:\n        return x * 2\n",
}


def test_a_manifest_asking_for_a_gpu_moves_towards_gpu_strategies(
    ranker: SelectorAgent, tmp_path: Path
) -> None:
    for name, text in GPU_COG.items():
        (tmp_path / name).write_text(text)
    with_gpu = {row.strategy: row for row in ranker.rank(SolutionResult(code_path=tmp_path))}
    (tmp_path / "cog.yaml").write_text(GPU_COG["cog.yaml"].replace("gpu: true", "gpu: false"))
    without = {row.strategy: row for row in ranker.rank(SolutionResult(code_path=tmp_path))}
    assert with_gpu["modal"].score > without["modal"].score
    assert with_gpu["local"].score < without["local"].score
    assert "cog.yaml asks for a GPU (+3)" in with_gpu["modal"].reasons
    order = list(with_gpu)
    assert order.index("modal") < order.index("local")


@pytest.mark.parametrize(
    "line", ["from ray import serve", "import ray.serve", "import ray.serve as rs"]
)
def test_a_submodule_import_signal_matches_every_way_of_importing_it(
    ranker: SelectorAgent, tmp_path: Path, line: str
) -> None:
    if "ray" not in {s.name for s in ranker.registry.list_strategies()}:
        pytest.skip("needs deployer-ray installed")
    (tmp_path / "main.py").write_text(f"{line}\n\n\ndef predict(x: int) -> int:\n    return x\n")
    ray = {row.strategy: row for row in ranker.rank(SolutionResult(code_path=tmp_path))}["ray"]
    assert "imports ray.serve (+4)" in ray.reasons, ray.reasons


def test_the_digest_keeps_top_level_names_apart_from_dotted_ones(tmp_path: Path) -> None:
    from deployer.repo.digest import scan_repository

    (tmp_path / "main.py").write_text(
        "import os.path\nfrom ray import serve\nfrom typing import *\nfrom . import sibling\n"
    )
    digest = scan_repository(tmp_path)
    assert {"os", "ray", "typing"} <= digest.imports
    assert not any("." in name for name in digest.imports)
    assert {"os", "os.path", "ray", "ray.serve", "typing"} <= digest.dotted_imports
    assert "typing.*" not in digest.dotted_imports and "sibling" not in digest.dotted_imports
