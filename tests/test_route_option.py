"""`--option route=/path` (issue 12): which POST route of a web app `run` posts to, on the
local strategy with the real FastAPI and Flask packages, served by core's runtime."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from deployer.testing import DeployerCli, tree_hash

FASTAPI_TWO_ROUTES = """\
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Text(BaseModel):
    text: str


@app.post("/upper")
def upper(item: Text) -> dict:
    return {"text": item.text.upper()}


@app.post("/count")
def count(item: Text) -> dict:
    return {"words": len(item.text.split())}
"""

FLASK_TWO_ROUTES = """\
from flask import Flask, request

app = Flask(__name__)


@app.post("/double")
def double():
    return {"value": request.get_json()["value"] * 2}


@app.post("/negate")
def negate():
    return {"value": -request.get_json()["value"]}
"""


def solution(root: Path, source: str, requirements: str = "") -> Path:
    root.mkdir()
    (root / "main.py").write_text(textwrap.dedent(source))
    if requirements:
        (root / "requirements.txt").write_text(requirements + "\n")
    return root


@pytest.mark.slow
def test_a_fastapi_app_with_two_post_routes_needs_the_route_option(
    cli: DeployerCli, tmp_path: Path
):
    source = solution(tmp_path / "api", FASTAPI_TWO_ROUTES, "fastapi")
    before = tree_hash(source)
    ambiguous = cli(
        "deploy", str(source), "--name", "two", "--strategy", "local", "--entrypoint", "main:app"
    )
    assert ambiguous.code != 0
    assert "2 POST routes (/upper, /count)" in ambiguous.err, ambiguous.err
    assert "Traceback" not in ambiguous.err

    deployed = cli(
        "deploy", str(source), "--name", "counts", "--strategy", "local",
        "--entrypoint", "main:app", "--option", "route=/count",
    )  # fmt: skip
    assert deployed.code == 0, deployed.err
    result = cli("run", "counts", json.dumps({"text": "one two three"}))
    assert result.json() == {"status": "success", "output": {"words": 3}}, result.err

    missing = cli(
        "deploy", str(source), "--name", "nowhere", "--strategy", "local",
        "--entrypoint", "main:app", "--option", "route=/nope",
    )  # fmt: skip
    assert missing.code != 0
    assert "no POST route /nope (its POST routes: /upper, /count)" in missing.err, missing.err
    assert [row["name"] for row in cli("ls", "--json").json()] == ["counts"]
    assert tree_hash(source) == before


@pytest.mark.slow
def test_a_flask_app_takes_the_route_option(cli: DeployerCli, tmp_path: Path):
    source = solution(tmp_path / "flaskapp", FLASK_TWO_ROUTES, "flask")
    deployed = cli(
        "deploy", str(source), "--name", "neg", "--strategy", "local", "--entrypoint", "main:app",
        "--option", "route=/negate",
    )  # fmt: skip
    assert deployed.code == 0, deployed.err
    assert cli("run", "neg", '{"value": 4}').json()["output"] == {"value": -4}


@pytest.mark.parametrize("route", ["http://evil.example/x", "/a?b=1", "/../etc", "predict"])
def test_a_route_that_is_not_a_plain_path_is_refused_before_adapting(
    cli: DeployerCli, tmp_path: Path, route: str
):
    source = solution(tmp_path / "api", FASTAPI_TWO_ROUTES)
    refused = cli(
        "deploy",
        str(source),
        "--strategy",
        "local",
        "--entrypoint",
        "main:app",
        "--option",
        f"route={route}",
    )
    assert refused.code == 2, refused.err
    assert "is not a path like /predict" in refused.err
    assert (
        not list((cli.home / "workspaces").glob("*"))
        if (cli.home / "workspaces").exists()
        else True
    )


def test_the_route_option_is_refused_for_a_function(cli: DeployerCli, tmp_path: Path):
    source = solution(tmp_path / "fn", "def predict(text: str) -> str:\n    return text\n")
    refused = cli("deploy", str(source), "--strategy", "local", "--option", "route=/predict")
    assert refused.code == 2, refused.err
    assert "is for web apps (ASGI or WSGI), and main:predict is a function" in refused.err
