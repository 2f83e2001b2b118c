"""Adaptation time per published shape on each strategy that loads entry points through the
serving runtime (local, bentoml, langgraph, modal), side by side with the conformance kit's
plain-function reference solution (ratio), or the one-line reason a cell is refused.

Adaptation here is what `deploy` does before any server starts: the copy, the entry point's
detection (repo.shapes), the templates, validation, and the runtime + entry spec the runner
installs (`install_entry_loader`). Median of N runs; offline, no server started.

Run: `python benchmarks/bench_cross_shapes.py [--runs N]` from the repository root.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from deployer.adapter.agent import AdapterAgent
from deployer.errors import DeployerError
from deployer.models import DeploymentSetting, SolutionResult
from deployer.plugins.registry import StrategyRegistry
from deployer.runtime.serving_install import install_entry_loader
from deployer.testing.conformance import write_reference_solution

PUBLISHED = Path(__file__).resolve().parents[1] / "examples" / "published"
STRATEGIES = ("local", "bentoml", "langgraph", "modal")
SHAPES = (
    "cog_predictor",
    "cog_runner",
    "truss_model",
    "mlflow_model",
    "bentoml_service",
    "langgraph_graph",
    "gradio_interface",
    "fastapi_app",
    "flask_app",
    "setup_py_deps",
    "src_layout_pkg",
)
OPTIONS = {"modal": {"target": "local"}}


def adapt_once(agent: AdapterAgent, source: Path, strategy: str) -> float:
    start = time.perf_counter()
    result = agent.adapt(
        SolutionResult(code_path=source),
        DeploymentSetting(strategy=strategy, reasoning="bench"),
        options=OPTIONS.get(strategy, {}),
        adaptation="templates",
    )
    install_entry_loader(result.adapted_path, result.run_interface)
    took = time.perf_counter() - start
    shutil.rmtree(result.adapted_path, ignore_errors=True)
    return took


def measure(agent: AdapterAgent, source: Path, strategy: str, runs: int) -> float | str:
    samples = []
    for _ in range(runs):
        try:
            samples.append(adapt_once(agent, source, strategy))
        except DeployerError as exc:
            return "refused: " + exc.message.split("cannot run (", 1)[-1].split(";")[0][:70]
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["DEPLOYER_HOME"] = home
        agent = AdapterAgent(StrategyRegistry())
        reference = write_reference_solution(Path(home) / "reference")
        base = {s: measure(agent, reference, s, args.runs) for s in STRATEGIES}
        print(f"adaptation, median of {args.runs} (ms; x = ratio to the plain-function reference)")
        print(f"{'shape':18}" + "".join(f"{s:>22}" for s in STRATEGIES))
        print(f"{'(reference)':18}" + "".join(f"{base[s]:>20.1f}ms" for s in STRATEGIES))
        for shape in SHAPES:
            cells = []
            for strategy in STRATEGIES:
                value = measure(agent, PUBLISHED / shape, strategy, args.runs)
                if isinstance(value, str):
                    cells.append(f"{value[:21]:>22}")
                else:
                    ratio = value / base[strategy] if isinstance(base[strategy], float) else 0
                    cells.append(f"{value:>12.1f}ms {ratio:>5.2f}x")
            print(f"{shape:18}" + "".join(cells))


if __name__ == "__main__":
    main()
