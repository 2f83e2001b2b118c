"""Every entry kind and flavor through the real runtime, with solutions written the way their
ecosystems write them (Cog predictors, Truss models, MLflow pyfunc models, BentoML services,
LangGraph graphs, FastAPI and Flask apps, Modal functions, Gradio interfaces).

Packages a flavor needs are real (cog, fastapi, flask, pydantic, bentoml, langgraph, modal,
gradio); a missing one skips with its name (a failure under DEPLOYER_REQUIRE_REAL=1). Truss and
MLflow models are plain Python classes by their design: they need neither package to run.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from serving_support import inspect_entry, ndjson, serving


def needs(*packages: str) -> None:
    for package in packages:
        if importlib.util.find_spec(package) is None:
            pytest.skip(
                f"{package} is not installed (CI installs it for the serving runtime tests)"
            )


# ---------------------------------------------------------------- Cog

COG = {
    "cog.yaml": """
    build:
      python_version: "3.11"
    predict: "predict.py:Predictor"
    """,
    "predict.py": '''
    from typing import Iterator

    from cog import BasePredictor, Input


    class Predictor(BasePredictor):
        def setup(self) -> None:
            """Load the model into memory to make running multiple predictions efficient"""
            self.greeting = "hello"

        def predict(
            self,
            prompt: str = Input(description="Who to greet"),
            temperature: float = Input(
                description="Sampling temperature", default=0.7, ge=0.0, le=2.0
            ),
            style: str = Input(default="plain", choices=["plain", "shout"]),
            repeat: int = Input(default=1, ge=1, le=3),
        ) -> str:
            text = f"{self.greeting} {prompt} at {temperature}"
            text = text.upper() if style == "shout" else text
            return " ".join([text] * repeat)


    class Streamer(BasePredictor):
        def predict(self, prompt: str = Input(description="Prompt")) -> Iterator[str]:
            for word in prompt.split():
                yield word
    ''',
}
COG_SPEC = {"entrypoint": "predict:Predictor", "entry_kind": "class", "flavor": "cog"}


@pytest.mark.real
def test_cog_predictor_defaults_constraints_and_schema(tmp_path: Path) -> None:
    needs("cog")
    with serving(tmp_path, COG, COG_SPEC) as served:
        assert served.run({"prompt": "world"}).json() == {
            "status": "success",
            "output": "hello world at 0.7",
        }
        shouted = served.run({"prompt": "w", "style": "shout", "repeat": 2, "temperature": 1})
        assert shouted.json()["output"] == "HELLO W AT 1.0 HELLO W AT 1.0"
        too_hot = served.run({"prompt": "w", "temperature": 2.5})
        assert too_hot.status_code == 422
        assert too_hot.json()["field"] == "temperature"
        assert "<= 2.0" in too_hot.json()["error"]
        wrong_choice = served.run({"prompt": "w", "style": "whisper"})
        assert wrong_choice.json()["field"] == "style"
        missing = served.run({})
        assert missing.json()["field"] == "prompt"
        schema = served.client.get("/schema").json()
        assert schema["required"] == ["prompt"]
        assert schema["properties"]["temperature"] == {
            "type": "number",
            "description": "Sampling temperature",
            "minimum": 0.0,
            "maximum": 2.0,
            "default": 0.7,
        }
        assert schema["properties"]["style"]["enum"] == ["plain", "shout"]


@pytest.mark.real
def test_cog_inspect_reports_input_constraints(tmp_path: Path) -> None:
    needs("cog")
    result = inspect_entry(tmp_path, COG, COG_SPEC)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert (info["flavor"], info["method"], info["setup"]) == ("cog", "predict", ["setup"])
    repeat = next(p for p in info["signature"] if p["name"] == "repeat")
    assert repeat == {
        "name": "repeat",
        "annotation": "int",
        "required": False,
        "default": 1,
        "description": None,
        "choices": None,
        "ge": 1,
        "le": 3,
    }
    prompt = info["signature"][0]
    assert prompt["required"] is True and prompt["description"] == "Who to greet"


@pytest.mark.real
def test_cog_iterator_output_streams(tmp_path: Path) -> None:
    needs("cog")
    spec = {"entrypoint": "predict:Streamer", "entry_kind": "class", "flavor": "cog"}
    with serving(tmp_path, COG, spec) as served:
        items = ndjson(served.client.post("/stream", json={"prompt": "one two"}))
        assert items == [
            {"status": "item", "output": "one"},
            {"status": "item", "output": "two"},
            {"status": "success"},
        ]


@pytest.mark.real
def test_cog_runner_uses_run(tmp_path: Path) -> None:
    needs("cog")
    files = {
        "run.py": """
    from cog import BaseRunner, Input

    class Runner(BaseRunner):
        def setup(self):
            self.offset = 10

        def run(self, x: int = Input(description="A number", default=1)) -> int:
            return x + self.offset
    """
    }
    spec = {"entrypoint": "run:Runner", "entry_kind": "class", "flavor": "cog"}
    with serving(tmp_path, files, spec) as served:
        assert served.run({}).json()["output"] == 11
        assert served.run({"x": 5}).json()["output"] == 15


def test_flavor_is_detected_when_the_spec_omits_it(tmp_path: Path) -> None:
    needs("cog")
    with serving(tmp_path, COG, {"entrypoint": "predict:Predictor"}) as served:
        assert served.run({"prompt": "x"}).json()["output"] == "hello x at 0.7"


# ---------------------------------------------------------------- Truss

TRUSS = {
    "config.yaml": """
    model_name: doubler
    python_version: py311
    requirements: []
    secrets:
      api_key: null
    resources:
      cpu: "1"
      use_gpu: false
    """,
    "model/__init__.py": "",
    "model/model.py": """
    class Model:
        def __init__(self, **kwargs):
            self._config = kwargs["config"]
            self._data_dir = kwargs["data_dir"]
            self._secrets = kwargs["secrets"]
            self._model = None

        def load(self):
            self._model = lambda value: value * 2

        def preprocess(self, model_input):
            return [int(v) for v in model_input["inputs"]]

        def predict(self, model_input):
            return {"predictions": [self._model(v) for v in model_input],
                    "model_name": self._config.get("model_name"),
                    "data_dir": self._data_dir.name}

        def postprocess(self, model_output):
            model_output["postprocessed"] = True
            return model_output
    """,
}


def test_truss_model_load_pre_and_post_process(tmp_path: Path) -> None:
    needs("yaml")
    spec = {"entrypoint": "model.model:Model", "entry_kind": "class", "flavor": "truss"}
    with serving(tmp_path, TRUSS, spec) as served:
        answer = served.run({"inputs": ["1", 2]})
        assert answer.json() == {
            "status": "success",
            "output": {
                "predictions": [2, 4],
                "model_name": "doubler",
                "data_dir": "data",
                "postprocessed": True,
            },
        }
        assert served.client.get("/schema").json() == {"type": "object"}


TRUSS_PYDANTIC = {
    "model/__init__.py": "",
    "model/model.py": """
    from pydantic import BaseModel


    class Request(BaseModel):
        text: str
        times: int = 1


    class Response(BaseModel):
        result: str


    class Model:
        def __init__(self, config=None, secrets=None):
            self.secrets = secrets

        def load(self):
            self.ready = True

        async def predict(self, request: Request) -> Response:
            return Response(result=request.text * request.times)
    """,
}


def test_truss_pydantic_input_is_validated_and_output_dumped(tmp_path: Path) -> None:
    needs("pydantic")
    spec = {"entrypoint": "model.model:Model", "entry_kind": "class", "flavor": "truss"}
    with serving(tmp_path, TRUSS_PYDANTIC, spec) as served:
        assert served.run({"text": "ab", "times": 2}).json() == {
            "status": "success",
            "output": {"result": "abab"},
        }
        wrong = served.run({"times": "many"})
        assert wrong.status_code == 422
        assert wrong.json()["field"] in ("text", "times")
        schema = served.client.get("/schema").json()
        assert schema["title"] == "Request"
        assert schema["required"] == ["text"]


# ---------------------------------------------------------------- MLflow

MLFLOW = {
    "MLmodel": """
    flavors:
      python_function:
        loader_module: mlflow.pyfunc.model
        python_model: python_model.pkl
    """,
    "custom_model.py": """
    try:
        from mlflow.pyfunc import PythonModel
    except ImportError:  # the model is a plain class by MLflow's design
        PythonModel = object


    class AddN(PythonModel):
        def __init__(self, n: int = 5):
            self.n = n

        def load_context(self, context):
            self.artifacts_seen = dict(context.artifacts)
            self.config_seen = dict(context.model_config)

        def predict(self, context, model_input, params=None):
            return {"values": [v + self.n for v in model_input["values"]],
                    "artifacts": self.artifacts_seen}
    """,
}


def test_mlflow_python_model_gets_context_and_the_whole_body(tmp_path: Path) -> None:
    spec = {"entrypoint": "custom_model:AddN", "entry_kind": "class", "flavor": "mlflow"}
    with serving(tmp_path, MLFLOW, spec) as served:
        assert served.run({"values": [1, 2]}).json() == {
            "status": "success",
            "output": {"values": [6, 7], "artifacts": {}},
        }
    result = inspect_entry(tmp_path / "inspect", MLFLOW, spec)
    info = json.loads(result.stdout)
    assert (info["method"], info["setup"], info["calling_convention"]) == (
        "predict",
        ["load_context"],
        "dict",
    )


# ---------------------------------------------------------------- plain classes


def test_plain_class_with_load_and_predict(tmp_path: Path) -> None:
    files = {
        "plain.py": """
    class Classifier:
        def load_model(self):
            self.labels = ["neg", "pos"]

        def predict(self, score: float) -> str:
            return self.labels[score > 0.5]
    """
    }
    with serving(
        tmp_path, files, {"entrypoint": "plain:Classifier", "entry_kind": "class"}
    ) as served:
        assert served.run({"score": 0.9}).json()["output"] == "pos"
        assert served.run({"score": "high"}).status_code == 422


def test_explicit_method_on_a_class(tmp_path: Path) -> None:
    files = {
        "plain.py": """
    class Tool:
        def setup(self):
            self.base = 100

        def add(self, x: int) -> int:
            return self.base + x

        def predict(self, x: int) -> int:
            return -x
    """
    }
    with serving(tmp_path, files, {"entrypoint": "plain:Tool.add"}) as served:
        assert served.run({"x": 1}).json()["output"] == 101


def test_class_that_needs_constructor_arguments_fails_to_load_clearly(tmp_path: Path) -> None:
    files = {
        "plain.py": "class M:\n    def __init__(self, weights):\n        pass\n"
        "    def predict(self):\n        return 1\n"
    }
    with serving(tmp_path, files, {"entrypoint": "plain:M", "entry_kind": "class"}) as served:
        body = served.client.get("/readyz").json()
        assert body["status"] == "failed"
        assert body["error"] == "cannot create M(): its constructor needs weights"


# ---------------------------------------------------------------- BentoML


BENTO = {
    "bentofile.yaml": """
    service: "service:Summarizer"
    include:
      - "*.py"
    python:
      packages: []
    """,
    "service.py": """
    import bentoml


    @bentoml.service(resources={"cpu": "1"}, traffic={"timeout": 10})
    class Summarizer:
        def __init__(self) -> None:
            self.prefix = "summary: "

        @bentoml.api
        def summarize(self, text: str, max_len: int = 20) -> str:
            return (self.prefix + text)[:max_len]
    """,
}


@pytest.mark.real
def test_bentoml_service_api_method(tmp_path: Path) -> None:
    needs("bentoml")
    with serving(
        tmp_path,
        BENTO,
        {"entrypoint": "service:Summarizer", "entry_kind": "class", "flavor": "bentoml"},
    ) as served:
        assert served.run({"text": "a long text", "max_len": 12}).json()["output"] == "summary: a l"
        assert served.run({"text": 3}).status_code == 422
        assert served.client.get("/schema").json()["required"] == ["text"]
    result = inspect_entry(tmp_path / "inspect", BENTO, {"entrypoint": "service:Summarizer"})
    info = json.loads(result.stdout)
    assert (info["flavor"], info["method"]) == ("bentoml", "summarize")


# ---------------------------------------------------------------- LangGraph


GRAPH = {
    "langgraph.json": '{"dependencies": ["."], "graphs": {"agent": "./agent.py:graph"}}',
    "agent.py": """
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph


    class State(TypedDict):
        text: str
        steps: int


    def shout(state: State) -> dict:
        return {"text": state["text"].upper(), "steps": state.get("steps", 0) + 1}


    def exclaim(state: State) -> dict:
        return {"text": state["text"] + "!", "steps": state["steps"] + 1}


    builder = StateGraph(State)
    builder.add_node("shout", shout)
    builder.add_node("exclaim", exclaim)
    builder.add_edge(START, "shout")
    builder.add_edge("shout", "exclaim")
    builder.add_edge("exclaim", END)
    graph = builder.compile()
    """,
}


@pytest.mark.real
@pytest.mark.parametrize("name", ["graph", "builder"])
def test_langgraph_graph_invoke_and_stream(tmp_path: Path, name: str) -> None:
    needs("langgraph")
    with serving(
        tmp_path,
        GRAPH,
        {"entrypoint": f"agent:{name}", "entry_kind": "graph", "flavor": "langgraph"},
    ) as served:
        assert served.run({"text": "hi", "steps": 0}).json()["output"] == {
            "text": "HI!",
            "steps": 2,
        }
        items = ndjson(served.client.post("/stream", json={"text": "hi", "steps": 0}))
        assert [i["status"] for i in items] == ["item", "item", "success"]
        assert items[0]["output"] == {"shout": {"text": "HI", "steps": 1}}
        schema = served.client.get("/schema").json()
        assert "text" in schema["properties"]


# ---------------------------------------------------------------- FastAPI (ASGI)


FASTAPI = {
    "main.py": """
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, HTTPException
    from pydantic import BaseModel

    models = {}


    @asynccontextmanager
    async def lifespan(app: FastAPI):
        models["greeting"] = "hello"
        yield
        models.clear()


    app = FastAPI(lifespan=lifespan)


    class Item(BaseModel):
        name: str
        times: int = 1


    @app.get("/")
    def root():
        return {"ok": True}


    @app.post("/predict")
    def predict(item: Item) -> dict:
        if item.name == "teapot":
            raise HTTPException(status_code=418, detail="I am a teapot")
        return {"message": " ".join([f"{models['greeting']} {item.name}"] * item.times)}
    """,
}


@pytest.mark.real
def test_fastapi_app_called_in_process(tmp_path: Path) -> None:
    needs("fastapi")
    with serving(
        tmp_path, FASTAPI, {"entrypoint": "main:app", "entry_kind": "asgi", "flavor": "fastapi"}
    ) as served:
        assert served.run({"name": "ada", "times": 2}).json() == {
            "status": "success",
            "output": {"message": "hello ada hello ada"},
        }
        invalid = served.run({"times": 2})
        assert invalid.status_code == 422
        assert "HTTP 422" in invalid.json()["error"] and "name" in invalid.json()["error"]
        teapot = served.run({"name": "teapot"})
        assert teapot.status_code == 418
        assert "I am a teapot" in teapot.json()["error"]
        schema = served.client.get("/schema").json()
        assert schema["$ref"] == "#/components/schemas/Item"
        assert schema["components"]["schemas"]["Item"]["required"] == ["name"]


@pytest.mark.real
def test_fastapi_with_several_post_routes_needs_a_route(tmp_path: Path) -> None:
    needs("fastapi")
    files = {
        "main.py": """
    from fastapi import FastAPI
    app = FastAPI()

    @app.post("/a")
    def a(payload: dict) -> dict:
        return {"route": "a"}

    @app.post("/b")
    def b(payload: dict) -> dict:
        return {"route": "b", **payload}
    """
    }
    result = inspect_entry(
        tmp_path / "one", files, {"entrypoint": "main:app", "entry_kind": "asgi"}
    )
    assert result.returncode == 4
    assert "has 2 POST routes (/a, /b)" in result.stderr
    spec = {"entrypoint": "main:app", "entry_kind": "asgi", "route": "/b"}
    with serving(tmp_path / "two", files, spec) as served:
        assert served.run({"x": 1}).json()["output"] == {"route": "b", "x": 1}


# ---------------------------------------------------------------- Flask (WSGI)


FLASK = {
    "app.py": """
    from flask import Flask, jsonify, request

    app = Flask(__name__)


    @app.get("/")
    def index():
        return "ok"


    @app.post("/predict")
    def predict():
        data = request.get_json()
        if "text" not in data:
            return jsonify(error="text is required"), 400
        return jsonify(length=len(data["text"]), upper=data["text"].upper())
    """,
}


@pytest.mark.real
def test_flask_app_called_in_process(tmp_path: Path) -> None:
    needs("flask")
    with serving(
        tmp_path, FLASK, {"entrypoint": "app:app", "entry_kind": "wsgi", "flavor": "flask"}
    ) as served:
        assert served.run({"text": "abc"}).json() == {
            "status": "success",
            "output": {"length": 3, "upper": "ABC"},
        }
        missing = served.run({})
        assert missing.status_code == 400
        assert (
            "HTTP 400" in missing.json()["error"] and "text is required" in missing.json()["error"]
        )
    result = inspect_entry(tmp_path / "inspect", FLASK, {"entrypoint": "app:app"})
    info = json.loads(result.stdout)
    assert (info["entry_kind"], info["route"]) == ("wsgi", "/predict")


# ---------------------------------------------------------------- Modal


MODAL = {
    "modal_app.py": """
    import modal

    app = modal.App("example-square")
    image = modal.Image.debian_slim()


    @app.function(image=image)
    def square(x: int) -> int:
        print("This code is running on a remote worker!")
        return x**2
    """,
}


@pytest.mark.real
def test_modal_function_runs_locally(tmp_path: Path) -> None:
    needs("modal")
    with serving(
        tmp_path, MODAL, {"entrypoint": "modal_app:square", "entry_kind": "modal_function"}
    ) as served:
        assert served.run({"x": 7}).json() == {"status": "success", "output": 49}
        assert served.run({"x": "7"}).json()["field"] == "x"
        assert served.client.get("/schema").json()["properties"]["x"] == {"type": "integer"}


# ---------------------------------------------------------------- Gradio


GRADIO = {
    "gradio_app.py": """
    import gradio as gr


    def greet(name: str, intensity: int = 1) -> str:
        return "Hello, " + name + "!" * int(intensity)


    demo = gr.Interface(fn=greet, inputs=["text", "slider"], outputs=["text"])

    with gr.Blocks() as blocks:
        name = gr.Textbox(label="Name")
        output = gr.Textbox(label="Output Box")
        greet_btn = gr.Button("Greet")
        greet_btn.click(fn=greet, inputs=name, outputs=output)
    """,
}


@pytest.mark.real
@pytest.mark.parametrize("name", ["demo", "blocks"])
def test_gradio_interface_and_blocks(tmp_path: Path, name: str) -> None:
    needs("gradio")
    with serving(
        tmp_path, GRADIO, {"entrypoint": f"gradio_app:{name}", "entry_kind": "gradio"}
    ) as served:
        assert served.run({"name": "Ada", "intensity": 2}).json()["output"] == "Hello, Ada!!"
        assert served.client.get("/readyz").json()["entry_kind"] == "gradio"
