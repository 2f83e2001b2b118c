"""repo.shapes: static entry candidates of every published shape, and the resolver."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from deployer.errors import EntrypointError
from deployer.models import RunInterface
from deployer.repo import shapes

PUBLISHED = Path(__file__).resolve().parents[3] / "examples" / "published"


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# (fixture, entrypoint, entry_kind, flavor, method, setup, route, convention, source, params)
EXPECTED = [
    (
        "cog_predictor",
        "predict:Predictor",
        "class",
        "cog",
        "predict",
        ["setup"],
        None,
        "kwargs",
        "cog.yaml predict",
        ["name", "times", "punctuation"],
    ),
    (
        "cog_runner",
        "run:Runner",
        "class",
        "cog",
        "run",
        ["setup"],
        None,
        "kwargs",
        "cog.yaml run",
        ["text", "upper"],
    ),
    (
        "cog_deps",
        "predict:Predictor",
        "class",
        "cog",
        "predict",
        ["setup"],
        None,
        "kwargs",
        "cog.yaml predict",
        ["title"],
    ),
    (
        "truss_model",
        "model.model:Model",
        "class",
        "truss",
        "predict",
        ["load"],
        None,
        "dict",
        "Truss config.yaml model_class_name",
        ["model_input"],
    ),
    (
        "mlflow_model",
        "model:KeywordScorer",
        "class",
        "mlflow",
        "predict",
        ["load_context"],
        None,
        "dict",
        "detected",
        ["model_input", "params"],
    ),
    (
        "bentoml_service",
        "service:Summarization",
        "class",
        "bentoml",
        "summarize",
        [],
        None,
        "kwargs",
        "bentofile.yaml service",
        ["text", "words"],
    ),
    (
        "bentoml_asgi",
        "service:EchoService",
        "asgi",
        "bentoml",
        None,
        [],
        "/echo",
        "dict",
        "bentofile.yaml service",
        [],
    ),
    (
        "langgraph_graph",
        "agent:graph",
        "graph",
        "langgraph",
        None,
        [],
        None,
        "dict",
        "langgraph.json graphs.agent",
        [],
    ),
    (
        "fastapi_app",
        "main:app",
        "asgi",
        "fastapi",
        None,
        [],
        "/predict",
        "dict",
        "Procfile web",
        ["sentence"],
    ),
    ("flask_app", "app:app", "wsgi", "flask", None, [], "/classify", "dict", "detected", []),
    (
        "gradio_interface",
        "app:demo",
        "gradio",
        "gradio",
        "greet",
        [],
        None,
        "kwargs",
        "detected",
        ["name", "intensity"],
    ),
    (
        "src_layout_pkg",
        "textstats:predict",
        "function",
        None,
        None,
        [],
        None,
        "kwargs",
        "re-export in src/textstats/__init__.py",
        ["text", "top"],
    ),
    (
        "setup_py_deps",
        "predict:predict",
        "function",
        None,
        None,
        [],
        None,
        "kwargs",
        "convention",
        ["text", "separator"],
    ),
]


@pytest.mark.parametrize("row", EXPECTED, ids=[r[0] for r in EXPECTED])
def test_each_published_shape_resolves_without_an_entrypoint(row: tuple) -> None:
    fixture, entrypoint, kind, flavor, method, setup, route, convention, source, params = row
    interface = shapes.resolve(PUBLISHED / fixture, display=fixture)
    assert isinstance(interface, RunInterface)
    got = (
        interface.entrypoint,
        interface.entry_kind,
        interface.flavor,
        interface.method,
        interface.setup,
        interface.route,
        interface.calling_convention,
        interface.source,
        [p.name for p in interface.signature],
    )
    assert got == (entrypoint, kind, flavor, method, setup, route, convention, source, params)
    assert interface.parameters == params


def test_cog_inputs_are_read_statically() -> None:
    interface = shapes.resolve(PUBLISHED / "cog_predictor")
    name, times, punctuation = interface.signature
    assert (name.annotation, name.default, name.required, name.description) == (
        "str",
        "world",
        False,
        "Who to greet",
    )
    assert (times.ge, times.le, times.default) == (1.0, 5.0, 1)
    assert punctuation.choices == ["!", "."]
    runner = shapes.resolve(PUBLISHED / "cog_runner")
    assert runner.signature[0].required and runner.signature[0].default is None
    assert runner.signature[1].default is False


def test_truss_hooks_are_recorded() -> None:
    candidate = shapes.resolve_candidate(PUBLISHED / "truss_model")
    assert candidate.hooks == ["preprocess", "postprocess"]
    assert candidate.signature[0].annotation == "WordStatsInput"


def test_modal_app_with_several_functions_lists_ready_values() -> None:
    with pytest.raises(EntrypointError) as info:
        shapes.resolve(PUBLISHED / "modal_app", display="./my-modal-app")
    message = str(info.value)
    assert message.startswith("several entry points found in ./my-modal-app:")
    assert "--entrypoint app:square" in message and "--entrypoint app:shout" in message
    assert "app:main" not in message  # the local_entrypoint is not a candidate
    assert str(PUBLISHED) not in message


def test_modal_function_chosen_explicitly() -> None:
    interface = shapes.resolve(PUBLISHED / "modal_app", explicit="app:shout")
    assert (interface.entry_kind, interface.flavor, interface.source) == (
        "modal_function",
        "modal",
        "option",
    )
    assert [(p.name, p.default) for p in interface.signature] == [("text", None), ("times", 1)]


def test_precedence_option_then_pyproject_then_manifest_then_detection(tmp_path: Path) -> None:
    write(
        tmp_path,
        "predict.py",
        """\
        class Predictor:
            def setup(self): ...
            def predict(self, x): return x
        def run(x):
            return x
        def other(y):
            return y
    """,
    )
    write(tmp_path, "app.py", "def handler(event):\n    return event\n")
    detected = shapes.resolve(tmp_path)  # a load+predict class outranks conventional functions
    assert (detected.entrypoint, detected.source) == ("predict:Predictor", "detected")
    write(tmp_path, "cog.yaml", "predict: predict.py:Predictor\n")
    assert shapes.resolve(tmp_path).source == "cog.yaml predict"
    write(tmp_path, "pyproject.toml", '[tool.deployer]\nentrypoint = "predict:run"\n')
    resolved = shapes.resolve(tmp_path)
    assert (resolved.entrypoint, resolved.source) == (
        "predict:run",
        "pyproject.toml [tool.deployer]",
    )
    explicit = shapes.resolve(tmp_path, explicit="predict:other")
    assert (explicit.entrypoint, explicit.source) == ("predict:other", "option")


def test_strongest_single_candidate_wins_over_conventional_functions(tmp_path: Path) -> None:
    write(tmp_path, "main.py", "def main():\n    return 1\n")
    write(
        tmp_path,
        "graph.py",
        """\
        from langgraph.graph import StateGraph
        workflow = StateGraph(dict)
    """,
    )
    interface = shapes.resolve(tmp_path)
    assert (interface.entrypoint, interface.entry_kind) == ("graph:workflow", "graph")


def test_no_entry_point_names_the_display_path_and_what_it_saw(tmp_path: Path) -> None:
    write(tmp_path, "lib/tools.py", "def predict(x):\n    return x\n")
    write(tmp_path, "broken.py", "def f(:\n")
    with pytest.raises(EntrypointError) as info:
        shapes.resolve(tmp_path, display="~/code/my-solution")
    message = str(info.value)
    assert message.startswith(
        "no entry point found in ~/code/my-solution: saw --entrypoint lib.tools:predict"
    )
    assert "broken.py line 1: syntax error" in message
    assert str(tmp_path) not in message
    assert "\n" not in message


def test_empty_solution(tmp_path: Path) -> None:
    with pytest.raises(EntrypointError, match="saw no classes, graphs, apps or functions"):
        shapes.resolve(tmp_path, display="empty")


def test_syntax_error_in_the_named_file_is_one_line(tmp_path: Path) -> None:
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/predict.py", "x = 1\ndef predict(:\n")
    with pytest.raises(EntrypointError) as info:
        shapes.resolve(tmp_path, explicit="pkg.predict:predict")
    assert str(info.value).startswith("pkg/predict.py line 2: syntax error")


@pytest.mark.parametrize(
    ("entrypoint", "message"),
    [
        ("nomodule:f", "module 'nomodule' not found"),
        ("main:missing", "has no top-level 'missing'"),
        ("main:Cls.nothere", "class 'Cls' in main.py has no method 'nothere'"),
        ("bad entry", "must look like"),
    ],
)
def test_bad_explicit_entrypoints(tmp_path: Path, entrypoint: str, message: str) -> None:
    write(tmp_path, "main.py", "class Cls:\n    def go(self): ...\n")
    with pytest.raises(EntrypointError, match=message):
        shapes.resolve(tmp_path, explicit=entrypoint)


def test_class_method_entrypoint_and_plain_classes(tmp_path: Path) -> None:
    write(
        tmp_path,
        "engine.py",
        """\
        class Engine:
            def load_model(self):
                self.k = 2
            def __call__(self, inputs: dict) -> dict:
                return inputs
            def score(self, a: int, b: int = 2) -> int:
                return a * b
    """,
    )
    interface = shapes.resolve(tmp_path)
    assert (interface.entrypoint, interface.flavor, interface.method, interface.setup) == (
        "engine:Engine",
        "plain",
        "__call__",
        ["load_model"],
    )
    assert interface.calling_convention == "dict"
    method = shapes.resolve(tmp_path, explicit="engine:Engine.score")
    assert (method.method, [p.name for p in method.signature]) == ("score", ["a", "b"])


def test_framework_classes_through_aliases_and_local_bases(tmp_path: Path) -> None:
    write(
        tmp_path,
        "m.py",
        """\
        import cog as c
        from mlflow.pyfunc import PythonModel

        class Base(c.BasePredictor):
            def setup(self): ...

        class Predictor(Base):
            def predict(self, n: int = c.Input(default=3, ge=0)) -> int:
                return n

        class Wrapped(PythonModel):
            def predict(self, context, model_input):
                return model_input
    """,
    )
    found = {c.entrypoint: c for c in shapes.detect(tmp_path).candidates}
    assert found["m:Predictor"].flavor == "cog" and found["m:Predictor"].setup == ["setup"]
    assert found["m:Predictor"].signature[0].ge == 0.0
    assert found["m:Base"].flavor == "cog"
    assert found["m:Wrapped"].flavor == "mlflow" and found["m:Wrapped"].setup == []


def test_bentoml_service_with_several_apis(tmp_path: Path) -> None:
    write(
        tmp_path,
        "service.py",
        """\
        import bentoml

        @bentoml.service
        class Svc:
            @bentoml.api
            def one(self, x: int) -> int:
                return x
            @bentoml.api()
            def two(self, y: str) -> str:
                return y
    """,
    )
    with pytest.raises(EntrypointError) as info:
        shapes.resolve(tmp_path, display="svc")
    assert "--entrypoint service:Svc.one" in str(info.value)
    assert "--entrypoint service:Svc.two" in str(info.value)
    chosen = shapes.resolve(tmp_path, explicit="service:Svc.two")
    assert (chosen.method, chosen.flavor) == ("two", "bentoml")


def test_web_apps_routes(tmp_path: Path) -> None:
    write(
        tmp_path,
        "api.py",
        """\
        from starlette.applications import Starlette
        from fastapi import FastAPI
        star = Starlette()
        app = FastAPI()
        @app.post("/a")
        def a(body: dict): return body
        @app.api_route("/b", methods=["POST", "PUT"])
        def b(body: dict): return body
    """,
    )
    found = {c.entrypoint: c for c in shapes.detect(tmp_path).candidates}
    assert found["api:star"].entry_kind == "asgi" and found["api:star"].flavor == "starlette"
    assert found["api:app"].route is None  # two POST routes: the user picks with route=
    write(
        tmp_path,
        "w.py",
        """\
        import flask
        server = flask.Flask(__name__)
        @server.route("/go", methods=["post"])
        def go(): return "ok"
    """,
    )
    wsgi = shapes.describe(tmp_path, "w:server")
    assert (wsgi.entry_kind, wsgi.route) == ("wsgi", "/go")


def test_gradio_blocks_and_unknown_fn_need_introspection(tmp_path: Path) -> None:
    write(
        tmp_path,
        "ui.py",
        """\
        import gradio as gr
        from helpers import fn
        with gr.Blocks() as blocks:
            pass
        iface = gr.Interface(fn=fn, inputs="text", outputs="text")
    """,
    )
    found = {c.entrypoint: c for c in shapes.detect(tmp_path).candidates}
    assert found["ui:blocks"].needs_introspection and found["ui:blocks"].entry_kind == "gradio"
    assert found["ui:iface"].needs_introspection


def test_dynamic_names_need_introspection_and_reach_the_hook(tmp_path: Path) -> None:
    write(
        tmp_path,
        "dyn.py",
        """\
        import functools
        def __getattr__(name):
            raise AttributeError(name)
        @functools.lru_cache
        def predict(x):
            return x
    """,
    )
    write(tmp_path, "star.py", "from _compiled_ext import *\n")
    assert shapes.describe(tmp_path, "dyn:anything").needs_introspection
    assert shapes.describe(tmp_path, "dyn:predict").needs_introspection
    assert shapes.describe(tmp_path, "star:predict").needs_introspection
    seen = []

    def introspect(root: Path, candidate: shapes.Candidate) -> RunInterface:
        seen.append((root, candidate.entrypoint))
        return RunInterface(
            entrypoint=candidate.entrypoint, entry_kind="function", source="inspect"
        )

    result = shapes.resolve(tmp_path, explicit="star:predict", introspect=introspect)
    assert result.source == "inspect" and seen == [(tmp_path.resolve(), "star:predict")]
    static = shapes.resolve(tmp_path, explicit="dyn:anything")
    assert static.entrypoint == "dyn:anything" and static.source == "option"


def test_reexports_and_src_layout(tmp_path: Path) -> None:
    write(tmp_path, "src/pkg/__init__.py", "from .core import *\n")
    write(
        tmp_path,
        "src/pkg/core.py",
        "__all__ = ['run']\ndef run(inputs: dict) -> dict:\n    return inputs\n",
    )
    interface = shapes.resolve(tmp_path)
    assert interface.entrypoint == "pkg:run" and interface.calling_convention == "dict"
    assert shapes.module_name(tmp_path, tmp_path / "src/pkg/core.py") == "pkg.core"
    assert shapes.find_module(tmp_path, "pkg.core") == tmp_path / "src/pkg/core.py"
    followed = shapes.describe(tmp_path, "pkg:run")
    assert followed.signature[0].annotation == "dict"


def test_walk_skips_tests_venvs_hidden_and_build_dirs(tmp_path: Path) -> None:
    for folder in ("tests", ".hidden", "venv", "build", "node_modules"):
        write(
            tmp_path,
            f"{folder}/predict.py",
            "class P:\n    def setup(self): ...\n    def predict(self): ...\n",
        )
    write(tmp_path, "myenv/pyvenv.cfg", "home = /usr\n")
    write(
        tmp_path,
        "myenv/lib/m.py",
        "class P:\n    def setup(self): ...\n    def predict(self): ...\n",
    )
    write(
        tmp_path,
        "test_things.py",
        "class P:\n    def setup(self): ...\n    def predict(self): ...\n",
    )
    assert list(shapes.python_files(tmp_path)) == []
    write(tmp_path, "a/b/c.py", "")
    assert [p.relative_to(tmp_path).as_posix() for p in shapes.python_files(tmp_path)] == [
        "a/b/c.py"
    ]


def test_candidate_option_and_run_interface() -> None:
    candidate = shapes.resolve_candidate(PUBLISHED / "cog_runner")
    assert candidate.option == "--entrypoint run:Runner"
    assert candidate.describe() == "--entrypoint run:Runner (cog class in run.py:4)"
    assert candidate.run_interface().model_dump()["signature"][0]["name"] == "text"


def test_signature_literal_defaults(tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.py",
        "import os\ndef run(a, b: int = 3, *, c: list[str] = ['x'], d=os.sep):\n    pass\n",
    )
    params = shapes.resolve(tmp_path).signature
    assert [(p.name, p.annotation, p.required, p.default) for p in params] == [
        ("a", None, True, None),
        ("b", "int", False, 3),
        ("c", "list[str]", False, ["x"]),
        ("d", None, False, None),
    ]


def test_langgraph_json_with_several_graphs(tmp_path: Path) -> None:
    write(
        tmp_path, "langgraph.json", json.dumps({"graphs": {"a": "./g.py:one", "b": "./g.py:two"}})
    )
    with pytest.raises(EntrypointError) as info:
        shapes.resolve(tmp_path, display="lg")
    assert "langgraph.json in lg names several entry points" in str(info.value)
    assert "--entrypoint g:one, --entrypoint g:two" in str(info.value)


# --- the fixtures run under their real packages ---------------------------------------------

RUNS = {
    "cog_predictor": (
        "cog",
        "from predict import Predictor\np = Predictor(); p.setup()\n"
        "print(json.dumps(p.predict(name='ada', times=2, punctuation='.')))",
    ),
    "cog_runner": (
        "cog",
        "from run import Runner\nr = Runner(); r.setup()\n"
        "print(json.dumps(r.run(text='banana', upper=True)))",
    ),
    "truss_model": (
        "pydantic",
        "from model.model import Model\nm = Model(config={}); m.load()\n"
        "x = m.preprocess({'text': ' the cat the hat '})\n"
        "print(json.dumps(m.postprocess(m.predict(x))))",
    ),
    "mlflow_model": (
        "mlflow",
        "from model import KeywordScorer\nm = KeywordScorer(); m.load_context(None)\n"
        "print(json.dumps(m.predict(None, [{'text': 'good great bad'}])))",
    ),
    "bentoml_service": (
        "bentoml",
        "from service import Summarization\n"
        "print(json.dumps(Summarization.inner().summarize('a b c d e f g', words=3)))",
    ),
    "bentoml_asgi": (
        "bentoml",
        "from fastapi.testclient import TestClient\nimport service\n"
        "print(json.dumps(TestClient(service.app).post('/echo', json={'k': 1}).json()))",
    ),
    "langgraph_graph": (
        "langgraph",
        "from agent import graph\nprint(json.dumps(graph.invoke({'text': 'abc'})))",
    ),
    "modal_app": (
        "modal",
        "from app import square, shout\n"
        "print(json.dumps([square.local(7), shout.local('hi', times=2)]))",
    ),
    "fastapi_app": (
        "fastapi",
        "from fastapi.testclient import TestClient\nfrom main import app\n"
        "print(json.dumps(TestClient(app).post('/predict', json={'text': 'a bbb cc'}).json()))",
    ),
    "flask_app": (
        "flask",
        "from app import app\n"
        "print(json.dumps(app.test_client().post('/classify', json={'number': 4}).get_json()))",
    ),
    "gradio_interface": (
        "gradio",
        "import gradio as gr\nimport app\nassert isinstance(app.demo, gr.Interface)\n"
        "print(json.dumps(app.greet('ada', 2)))",
    ),
    "src_layout_pkg": (
        "json",
        "import sys\nsys.path.insert(0, 'src')\nimport textstats\n"
        "print(json.dumps(textstats.predict('b a b c', top=2)))",
    ),
    "setup_py_deps": (
        "slugify",
        "from predict import predict\nprint(json.dumps(predict('Hello World')))",
    ),
    "cog_deps": (
        "slugify",
        "from predict import Predictor\np = Predictor(); p.setup()\n"
        "print(json.dumps(p.predict(title='Hello World')))",
    ),
}
ANSWERS = {
    "cog_predictor": "hello ada. hello ada.",
    "cog_runner": {"vowels": 3, "text": "BANANA"},
    "truss_model": {"words": 2, "unique": 2},
    "mlflow_model": [2.0],
    "bentoml_service": "a b c",
    "bentoml_asgi": {"echo": {"k": 1}},
    "langgraph_graph": {"text": "abc", "reversed": "cba", "length": 3},
    "modal_app": [49, "HI HI"],
    "fastapi_app": {"words": 3, "longest": "bbb"},
    "flask_app": {"number": 4, "even": True},
    "gradio_interface": "Hello, ada!!",
    "src_layout_pkg": {"words": 4, "top": ["b", "a"]},
    "setup_py_deps": "hello-world",
    "cog_deps": "hello-world",
}


@pytest.mark.parametrize("fixture", sorted(RUNS))
def test_fixture_runs_under_its_real_package(fixture: str) -> None:
    package, code = RUNS[fixture]
    if importlib.util.find_spec(package) is None:
        wheel = {"slugify": "python-slugify"}.get(package, package)
        pytest.skip(f"{package} is not installed: pip install {wheel} to run {fixture}")
    if fixture == "bentoml_asgi" and importlib.util.find_spec("fastapi") is None:
        pytest.skip("fastapi is not installed")
    out = subprocess.run(
        [sys.executable, "-c", f"import json\n{code}"],
        cwd=PUBLISHED / fixture,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ANSWERS[fixture]


def test_every_fixture_has_a_two_line_readme_and_a_test() -> None:
    fixtures = sorted(p.name for p in PUBLISHED.iterdir() if p.is_dir())
    assert fixtures == sorted(RUNS)
    for name in fixtures:
        lines = (PUBLISHED / name / "README.md").read_text(encoding="utf-8").strip().splitlines()
        assert len(lines) == 2, name


def test_walk_honours_the_solutions_ignore_files(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "scratch/\nold_*.py\n")
    write(tmp_path, "scratch/x.py", "")
    write(tmp_path, "old_model.py", "")
    write(tmp_path, "kept.py", "")
    assert [p.name for p in shapes.python_files(tmp_path)] == ["kept.py"]


def test_graph_factories(tmp_path: Path) -> None:
    write(
        tmp_path,
        "agent.py",
        """\
        from langgraph.graph import StateGraph
        from langgraph.graph.state import CompiledStateGraph
        def make_graph() -> CompiledStateGraph:
            return StateGraph(dict).compile()
        def build():
            return StateGraph(dict).compile()
        def helper(text: str) -> str:
            return text
    """,
    )
    typed = shapes.describe(tmp_path, "agent:make_graph")
    assert (typed.entry_kind, typed.needs_introspection) == ("graph", False)
    untyped = shapes.describe(tmp_path, "agent:build")
    assert (untyped.entry_kind, untyped.needs_introspection) == ("graph", True)
    assert shapes.describe(tmp_path, "agent:helper").entry_kind == "function"


def test_manifest_naming_a_missing_entry(tmp_path: Path) -> None:
    write(tmp_path, "bentofile.yaml", "service: 'svc:Nope'\n")
    write(tmp_path, "main.py", "def predict(x):\n    return x\n")
    with pytest.raises(EntrypointError) as info:
        shapes.resolve(tmp_path)
    assert str(info.value).startswith("bentofile.yaml service: entry point 'svc:Nope'")
    lenient = shapes.resolve_candidate(tmp_path, strict_manifests=False)
    assert (lenient.entrypoint, lenient.source) == ("main:predict", "convention")


# -- Ray Serve applications, written the way Ray Serve's docs write them -----------------------

SERVE_GREETER = """
    from ray import serve
    from starlette.requests import Request


    @serve.deployment(num_replicas=2)
    class Greeter:
        def __init__(self, greeting: str):
            self.greeting = greeting

        async def __call__(self, request: Request) -> str:
            return self.greeting + (await request.json())["name"]


    app = Greeter.bind("Hello ")
"""

SERVE_INGRESS = """
    from fastapi import FastAPI
    from ray import serve

    api = FastAPI()


    @serve.deployment
    @serve.ingress(api)
    class Shouter:
        @api.post("/shout")
        def shout(self, text: str) -> str:
            return text.upper()

        @api.get("/health")
        def health(self) -> dict:
            return {}


    shouter_app = Shouter.options(num_replicas=2).bind()
"""

SERVE_STANDALONE_INGRESS = """
    from fastapi import FastAPI
    from ray import serve

    app = FastAPI()


    @app.get("/hi")
    def say_hi():
        return "Hello world!"


    deployment = serve.deployment(serve.ingress(app)())
    app = deployment.bind()
"""


@pytest.mark.parametrize(
    ("text", "entrypoint", "route"),
    [
        (SERVE_GREETER, "main:app", "/"),
        (SERVE_INGRESS, "main:shouter_app", "/shout"),  # the ingress's one POST route
        (SERVE_STANDALONE_INGRESS, "main:app", "/"),
    ],
)
def test_a_bound_serve_application_is_the_entry_point(
    tmp_path: Path, text: str, entrypoint: str, route: str
) -> None:
    write(tmp_path, "main.py", text)
    found = shapes.resolve_candidate(tmp_path)  # the FastAPI app an ingress wraps is its part
    assert (found.entrypoint, found.entry_kind, found.flavor) == (entrypoint, "serve_app", "ray")
    assert found.route == route and found.calling_convention == "dict"


def test_a_serve_deployment_nothing_binds_is_the_entry_point(tmp_path: Path) -> None:
    write(
        tmp_path,
        "m.py",
        "from ray import serve\n\n\n@serve.deployment\ndef echo(request):\n    return 'hi'\n",
    )
    found = shapes.resolve_candidate(tmp_path)
    assert (found.entrypoint, found.entry_kind) == ("m:echo", "serve_app")
    # named explicitly, the deployment of a module that binds it is one too
    write(tmp_path, "main.py", SERVE_GREETER)
    assert shapes.resolve_candidate(tmp_path, "main:Greeter").entry_kind == "serve_app"
    assert shapes.resolve_candidate(tmp_path, "main:app").entry_kind == "serve_app"


def test_a_serve_application_is_refused_in_one_line_where_it_cannot_run(tmp_path: Path) -> None:
    from deployer.adapter.agent import detected_entry

    write(tmp_path, "main.py", SERVE_GREETER)
    with pytest.raises(EntrypointError) as refused:
        detected_entry(tmp_path, None, tmp_path, ["function", "class"], "local")
    assert "main:app is a ray serve_app" in refused.value.message
    assert "\n" not in refused.value.message
