"""Schema, readiness and validation on target=local against a real `bentoml serve`, and a
BentoML service that mounts a FastAPI app (`@bentoml.asgi_app`), called on its POST route."""

from __future__ import annotations

import json
import threading

import pytest

from bentoml_support import BENTOML_MISSING, HAS_BENTOML
from deployer.deployment.factory import DeploymentFactory
from deployer.errors import DeployFailedError
from deployer.testing import wait_until

pytestmark = [
    pytest.mark.real,
    pytest.mark.slow,
    pytest.mark.skipif(not HAS_BENTOML, reason=BENTOML_MISSING),
]

SLOW_SETUP = {
    "main.py": """
    import time

    def setup():
        time.sleep(4)  # a model that takes a while to load

    def predict(text: str, repeat: int = 1):
        return text * repeat
    """
}

# A FastAPI app mounted on a BentoML service, written as BentoML's docs write it ("Mount ASGI
# applications"): a route inside the class reaches the service through `self`, one outside
# through `Depends(bentoml.get_current_service)`, all under the mount path /v1.
MOUNTED = """
from fastapi import Depends, FastAPI
from pydantic import BaseModel

import bentoml

app = FastAPI()


class Review(BaseModel):
    text: str
    stars: int = 3


@bentoml.service
@bentoml.asgi_app(app, path="/v1")
class ReviewService:
    name = "ReviewService"

    @app.get("/hello")
    def hello(self):
        return f"Hello {self.name}"

    @app.post("/classify")
    def classify(self, review: Review) -> dict:
        label = "positive" if review.stars >= 3 else "negative"
        return {"label": label, "service": self.name}
"""

ECHO_ROUTE = """

@app.post("/echo")
async def echo(review: Review, service: ReviewService = Depends(bentoml.get_current_service)):
    return {"echo": review.text, "service": service.name}
"""


def test_loading_then_ready_with_schema_and_field_errors(deployments, registry, cli):
    """While setup() runs the server already answers: readiness says loading and a call says
    so; once loaded, the schema comes from the annotations and a bad input names its field
    (the CLI exits 2) instead of BentoML's own 400 body."""
    source = deployments.solution("slow", SLOW_SETUP)
    seen: list[tuple[str, dict]] = []
    made: list[object] = []
    deploying = threading.Thread(
        target=lambda: made.append(deployments.deploy(source, name="slow")), daemon=True
    )
    deploying.start()
    factory = DeploymentFactory(registry)

    def loading_seen() -> bool:
        try:
            info = factory.store.get("slow")
        except Exception:
            return False
        if not info.runner_state.get("pid"):
            return False
        runner = factory.runner_for(info)
        readiness = runner.readiness()
        if readiness.state == "loading":
            seen.append((readiness.state, runner.run({"text": "early"})))
            return True
        return False

    assert wait_until(loading_seen, limit=120)
    deploying.join(180)
    (software,) = made
    _, early = seen[0]
    assert early["status"] == "error" and "still loading" in early["error"]
    assert software.readiness().state == "ready"

    schema = software.schema()
    assert schema["properties"]["text"] == {"type": "string"}
    assert schema["properties"]["repeat"]["type"] == "integer" and schema["required"] == ["text"]
    assert software.run({"text": "ab", "repeat": 2}) == {"status": "success", "output": "abab"}
    wrong = software.run({"text": 3})
    assert wrong["status"] == "error" and wrong["field"] == "text"
    assert "expected str" in wrong["error"]
    missing = software.run({"repeat": 2})
    assert missing["field"] == "text" and "required" in missing["error"]

    ran = cli("run", "slow", json.dumps({"text": "x", "repeat": "many"}))
    assert ran.code == 2
    assert ran.json()["field"] == "repeat"
    assert cli.json("schema", "slow") == schema  # `deployer schema` from another process
    status = cli.json("status", "slow", "--json")
    assert status["status"] == "running" and status["readiness"] == "ready"
    software.stop()
    assert software.readiness().state == "stopped"


def test_a_service_mounting_a_fastapi_app_is_called_on_its_post_route(deployments, cli):
    """No --option route: the mounted app's one POST route (GET routes do not count), the
    mount path included; its pydantic body model is the schema and its 422 names the field."""
    source = deployments.solution("mounted", {"service.py": MOUNTED})
    software = deployments.deploy(source, name="reviews")
    assert software.runner.state["route"] == "/v1/classify"
    assert software.run({"text": "fine", "stars": 1}) == {
        "status": "success",
        "output": {"label": "negative", "service": "ReviewService"},
    }
    assert software.schema()["required"] == ["text"]
    wrong = software.run({"text": "ok", "stars": "many"})
    assert wrong["status"] == "error" and wrong["field"] == "stars"
    ran = cli("run", "reviews", json.dumps({"stars": 5}))
    assert ran.code == 2 and ran.json()["field"] == "text"


def test_route_option_picks_one_of_several_post_routes(deployments):
    source = deployments.solution("two", {"service.py": MOUNTED + ECHO_ROUTE})
    with pytest.raises(DeployFailedError) as unclear:
        deployments.deploy(source, name="unclear")
    assert "its POST routes are /v1/classify, /v1/echo" in unclear.value.message
    assert "--option route=" in (unclear.value.hint or "")
    # the route as the app declares it; the mount path is found on the served document
    software = deployments.deploy(source, name="echo", route="/echo")
    assert software.runner.state["route"] == "/v1/echo"
    assert software.run({"text": "hi"})["output"] == {"echo": "hi", "service": "ReviewService"}
