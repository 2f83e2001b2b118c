"""Adaptation: the langgraph.json the template writes, the graph deployer_graph.py exposes
for each kind of entry point (imported for real, in a fresh interpreter with langgraph), and
the checks the runner makes on langgraph.json before a server sees it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deployer.adapter.agent import AdapterAgent
from deployer.errors import DeployFailedError
from deployer.models import AdaptationResult, DeploymentSetting, SolutionResult
from deployer.plugins.registry import StrategyRegistry
from deployer.testing import tree_hash
from deployer_langgraph import workspace
from langgraph_support import AGENT_EXAMPLE, run_python, write_solution

GRAPH_IMPORTS = """
from typing import TypedDict
from langgraph.graph import StateGraph, START, END
from langgraph.graph.state import CompiledStateGraph

class S(TypedDict, total=False):
    n: int

def inc(state):
    return {"n": state.get("n", 0) + 1}

def builder():
    b = StateGraph(S)
    b.add_node("inc", inc)
    b.add_edge(START, "inc")
    b.add_edge("inc", END)
    return b
"""

INVOKE = """
import json, deployer_graph
graph = deployer_graph.graph
result = graph.invoke(json.loads({payload!r})) if hasattr(graph, "invoke") else None
print(json.dumps({{"name": getattr(graph, "name", None), "callable": callable(graph),
                  "result": result}}))
"""


def adapt(
    registry: StrategyRegistry,
    root: Path,
    files: dict[str, str] | None = None,
    *,
    options: dict[str, Any] | None = None,
    entrypoint: str | None = None,
    include: list[str] | None = None,
) -> AdaptationResult:
    source = write_solution(root, files) if files else root
    return AdapterAgent(registry).adapt(
        SolutionResult(code_path=source),
        DeploymentSetting(strategy="langgraph", reasoning="test"),
        options=options,
        entrypoint=entrypoint,
        include=include or [],
    )


def served(result: AdaptationResult, payload: dict[str, Any]) -> dict[str, Any]:
    """What the server would serve: import deployer_graph.py and invoke its graph."""
    proc = run_python(INVOKE.format(payload=json.dumps(payload)), result.adapted_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def import_error(result: AdaptationResult) -> str:
    proc = run_python("import deployer_graph", result.adapted_path)
    assert proc.returncode != 0
    return proc.stderr.strip().splitlines()[-1]


def test_template_files_and_original_untouched(registry: StrategyRegistry, tmp_path: Path) -> None:
    before = tree_hash(AGENT_EXAMPLE)
    result = adapt(registry, AGENT_EXAMPLE)
    assert tree_hash(AGENT_EXAMPLE) == before
    assert sorted(result.files_changed) == ["deployer_graph.py", "langgraph.json"]
    assert result.run_interface.entrypoint == "agent:make_graph"
    config = json.loads((result.adapted_path / "langgraph.json").read_text())
    assert config == {"dependencies": ["."], "graphs": {"agent": "./deployer_graph.py:graph"}}
    renamed = adapt(registry, AGENT_EXAMPLE, options={"graph_id": "router"})
    assert json.loads((renamed.adapted_path / "langgraph.json").read_text())["graphs"] == {
        "router": "./deployer_graph.py:graph"
    }


def test_graph_factory_example_is_served_as_is(registry: StrategyRegistry) -> None:
    """An annotated factory (`-> CompiledStateGraph`) is called once; its graph is served."""
    out = served(adapt(registry, AGENT_EXAMPLE), {"question": "what is 6 * 7?"})
    assert out["name"] == "langgraph_agent"
    assert out["result"]["answer"] == "42" and out["result"]["tool"] == "calculator"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("def make() -> CompiledStateGraph:\n    return builder().compile()\n", "annotation"),
        ("def make():\n    return builder().compile()\n", "graph-building body"),
        ("def make() -> StateGraph:\n    return builder()\n", "an uncompiled StateGraph"),
    ],
)
def test_graph_factories(registry: StrategyRegistry, tmp_path: Path, body: str, why: str) -> None:
    files = {"graphs.py": GRAPH_IMPORTS + body}
    result = adapt(registry, tmp_path / "sol", files, entrypoint="graphs:make")
    out = served(result, {"n": 41})
    assert out["result"] == {"n": 42}, why
    assert out["name"] != "deployer_function"


def test_factory_taking_config_is_handed_to_the_server(
    registry: StrategyRegistry, tmp_path: Path
) -> None:
    body = "def make(config) -> CompiledStateGraph:\n    return builder().compile()\n"
    files = {"graphs.py": GRAPH_IMPORTS + body}
    out = served(adapt(registry, tmp_path / "sol", files, entrypoint="graphs:make"), {})
    assert out["callable"] and out["result"] is None  # the server calls it per run


@pytest.mark.parametrize(
    ("code", "payload", "expected"),
    [
        ("def predict(inputs):\n    return {'keys': sorted(inputs)}\n", {"a": 1}, {"keys": ["a"]}),
        ("def predict(text, times=2):\n    return text * times\n", {"text": "ab"}, "abab"),
        (
            "import asyncio\n\n"
            "async def predict(x):\n    await asyncio.sleep(0)\n    return x + 1\n",
            {"x": 1},
            2,
        ),
    ],
    ids=["dict", "kwargs", "async"],
)
def test_plain_functions_are_wrapped(
    registry: StrategyRegistry, tmp_path: Path, code: str, payload: dict, expected: Any
) -> None:
    result = adapt(registry, tmp_path / "sol", {"main.py": code})
    out = served(result, {"input": payload})
    assert out["name"] == "deployer_function"
    assert out["result"] == {"input": payload, "output": expected}


def test_wrapper_explains_mismatched_inputs(registry: StrategyRegistry, tmp_path: Path) -> None:
    result = adapt(registry, tmp_path / "sol", {"main.py": "def predict(text):\n    return text\n"})
    code = INVOKE.format(payload=json.dumps({"input": {"txt": "a"}}))
    proc = run_python(code, result.adapted_path)
    assert "invalid input: txt: unknown field (expected fields: text)" in proc.stderr


def test_kind_option_overrides_the_guess(registry: StrategyRegistry, tmp_path: Path) -> None:
    files = {"graphs.py": GRAPH_IMPORTS + "def make():\n    return builder().compile()\n"}
    wrapped = adapt(
        registry, tmp_path / "a", files, options={"kind": "function"}, entrypoint="graphs:make"
    )
    proc = run_python(INVOKE.format(payload=json.dumps({"input": {}})), wrapped.adapted_path)
    assert "returned a LangGraph graph: deploy with --option kind=graph" in proc.stderr
    plain = {"main.py": "def predict():\n    return {'hello': 1}\n"}
    forced = adapt(registry, tmp_path / "b", plain, options={"kind": "graph"})
    message = import_error(forced)
    assert "taken for a graph factory but returned dict" in message
    assert "--option kind=function" in message


def test_prepare_reads_and_completes_langgraph_json(
    registry: StrategyRegistry, tmp_path: Path
) -> None:
    files = {
        "main.py": "def predict(x):\n    return x\n",
        ".env": "A=1\n",
        ".langgraph_api/.langgraph_checkpoint.1.pckl": "the user's own dev runs",
    }
    # core leaves secret-looking files out of the copy unless asked: this solution ships its .env
    with_env = adapt(registry, tmp_path / "env", files, include=[".env"])
    stale = with_env.adapted_path / ".langgraph_api"
    assert not stale.exists()  # core's adapter never copies the user's own dev-server state
    assert workspace.prepare(with_env.adapted_path, {"graph_id": "agent"}, fresh=True) == "agent"
    assert not stale.exists() and (tmp_path / "env" / ".langgraph_api").is_dir()
    config = json.loads((with_env.adapted_path / "langgraph.json").read_text())
    assert config["env"] == ".env"
    with pytest.raises(DeployFailedError, match="graph_id"):
        workspace.prepare(with_env.adapted_path, {"graph_id": "bad id"})


def test_solutions_own_langgraph_json_is_kept(registry: StrategyRegistry, tmp_path: Path) -> None:
    own = {"graphs": {"router": "./graphs.py:graph", "other": "./graphs.py:graph"}}
    files = {
        "graphs.py": GRAPH_IMPORTS + "def make():\n    return builder().compile()\n",
        "langgraph.json": json.dumps(own),
    }
    result = adapt(registry, tmp_path / "own", files, entrypoint="graphs:make")
    assert "kept the solution's own langgraph.json" in result.validation
    assert json.loads((result.adapted_path / "langgraph.json").read_text()) == own
    with pytest.raises(DeployFailedError, match=r"no graph 'agent' \(it has other, router\)"):
        workspace.prepare(result.adapted_path, {"graph_id": "agent"})
    assert workspace.prepare(result.adapted_path, {"graph_id": "router"}) == "router"
    (result.adapted_path / "langgraph.json").write_text(json.dumps({"graphs": {"only": "x"}}))
    assert workspace.prepare(result.adapted_path, {"graph_id": "agent"}) == "only"
    (result.adapted_path / "langgraph.json").write_text("{not json")
    with pytest.raises(DeployFailedError, match="is not valid JSON"):
        workspace.prepare(result.adapted_path, {})


def test_the_adapted_copy_carries_the_serving_runtime(
    registry: StrategyRegistry, tmp_path: Path
) -> None:
    """config.yaml `entry_loader: true`: the copy runs on its own (a user's `langgraph dev`
    or `langgraph deploy` of it), a class loaded by the runtime, set up once."""
    files = {
        "handler.py": (
            "class Handler:\n"
            "    def load(self):\n"
            "        self.calls = 0\n\n"
            "    def predict(self, text: str) -> dict:\n"
            "        self.calls += 1\n"
            "        return {'text': text.upper(), 'calls': self.calls}\n"
        )
    }
    result = adapt(registry, tmp_path / "sol", files)
    assert result.run_interface.entry_kind == "class"
    assert (result.adapted_path / "deployer_runtime" / "embedded.py").is_file()
    spec = json.loads((result.adapted_path / "deployer_entry.json").read_text())
    assert spec["entrypoint"] == "handler:Handler" and spec["entry_kind"] == "class"
    assert any("serving runtime" in note for note in result.validation)
    out = served(result, {"input": {"text": "hi"}})
    assert out["name"] == "deployer_function"
    assert out["result"] == {"input": {"text": "hi"}, "output": {"text": "HI", "calls": 1}}


def test_a_src_layout_package_is_importable_in_the_graph(
    registry: StrategyRegistry, tmp_path: Path
) -> None:
    files = {
        "pyproject.toml": '[project]\nname = "flip"\nversion = "1.0"\n',
        "src/flip/__init__.py": "from .core import predict\n",
        "src/flip/core.py": "def predict(text: str) -> str:\n    return text[::-1]\n",
    }
    result = adapt(registry, tmp_path / "sol", files)
    assert result.run_interface.entrypoint.startswith("flip")
    out = served(result, {"input": {"text": "abc"}})
    assert out["result"]["output"] == "cba"
