"""What a deployment takes and how to reach it: `deployer schema`, `deployer endpoint`,
`deployer run --stream`, readiness in `status`/`ls`, and the client side of /readyz and
/schema (EnvelopeClient) against the real serving runtime. Real local servers throughout."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from serving_support import SLOW_LOAD_FILES, serving

from deployer.cli.main import main
from deployer.deployment.factory import DeploymentFactory
from deployer.models import RunInterface
from deployer.runtime.http import EnvelopeClient
from deployer.runtime.runner import static_input_problem, static_schema

TYPED = """\
from typing import Literal


def predict(text: str, repeat: int = 1, mode: Literal["upper", "lower"] = "lower") -> dict:
    out = text * repeat
    return {"echo": out.upper() if mode == "upper" else out}


def words(text: str):
    for index, word in enumerate(text.split()):
        if word == "boom":
            raise RuntimeError(f"boom at word {index}")
        yield {"word": word, "index": index}
"""


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Two real local deployments of one typed solution: predict, and the generator."""
    root = tmp_path_factory.mktemp("inspect")
    home = root / "home"
    solution = root / "sol"
    solution.mkdir()
    (solution / "main.py").write_text(TYPED)
    patch = pytest.MonkeyPatch()
    patch.setenv("DEPLOYER_HOME", str(home))
    patch.setenv("DEPLOYER_STRATEGIES", "local")
    runner = CliRunner()
    for name, entry in (("typed", "main:predict"), ("words", "main:words")):
        made = runner.invoke(main, ["deploy", str(solution), "--strategy", "local",
                                    "--name", name, "--entrypoint", entry])  # fmt: skip
        assert made.exit_code == 0, made.output
    yield {"home": home, "runner": runner}
    for name in ("typed", "words"):
        runner.invoke(main, ["rm", name])
    patch.undo()


def invoke(deployed: dict[str, object], *args: str):
    runner = deployed["runner"]
    assert isinstance(runner, CliRunner)
    return runner.invoke(main, list(args))


def test_schema_prints_the_typed_input_schema(deployed) -> None:
    shown = invoke(deployed, "schema", "typed")
    assert shown.exit_code == 0, shown.output
    schema = json.loads(shown.output)
    assert schema["required"] == ["text"]
    assert schema["properties"]["text"]["type"] == "string"
    assert schema["properties"]["repeat"] == {"type": "integer", "default": 1}
    assert schema["properties"]["mode"]["enum"] == ["upper", "lower"]
    assert schema["additionalProperties"] is False


def test_the_schema_is_recorded_at_deploy_and_served_by_the_handle(deployed) -> None:
    factory = DeploymentFactory()
    info = factory.store.get("typed")
    assert info.input_schema is not None and info.input_schema["required"] == ["text"]
    software = factory.attach("typed")
    assert software.schema() == info.input_schema
    software.stop()  # stopped: the recorded schema still answers
    try:
        assert software.schema() == info.input_schema
        assert software.readiness().state == "stopped"
        assert invoke(deployed, "status", "typed", "--json").exit_code == 0
    finally:
        software.start()
    assert software.readiness().state == "ready"


def test_wrong_type_is_refused_before_the_call_exit_2(deployed) -> None:
    refused = invoke(deployed, "run", "typed", '{"text": 5}')
    assert refused.exit_code == 2
    envelope = json.loads(refused.output)
    assert envelope["status"] == "error" and envelope["field"] == "text"
    assert "expected str" in envelope["error"]
    missing = invoke(deployed, "run", "typed", '{"repeat": 2}')
    assert missing.exit_code == 2 and "required field missing" in missing.output
    bad_choice = invoke(deployed, "run", "typed", '{"text": "a", "mode": "loud"}')
    assert bad_choice.exit_code == 2 and "expected one of" in bad_choice.output
    fine = invoke(deployed, "run", "typed", '{"text": "ab", "repeat": 2, "mode": "upper"}')
    assert json.loads(fine.output) == {"status": "success", "output": {"echo": "ABAB"}}


def test_run_stream_prints_one_item_per_line_then_the_end(deployed) -> None:
    streamed = invoke(deployed, "run", "words", '{"text": "alpha beta gamma"}', "--stream")
    assert streamed.exit_code == 0, streamed.output
    lines = [json.loads(line) for line in streamed.output.splitlines()]
    assert lines == [
        {"status": "item", "output": {"word": "alpha", "index": 0}},
        {"status": "item", "output": {"word": "beta", "index": 1}},
        {"status": "item", "output": {"word": "gamma", "index": 2}},
        {"status": "success"},
    ]
    whole = json.loads(invoke(deployed, "run", "words", '{"text": "a b"}').output)
    assert whole == {"status": "success", "output": [{"word": "a", "index": 0},
                                                      {"word": "b", "index": 1}]}  # fmt: skip


def test_a_stream_that_raises_half_way_ends_with_the_error_exit_1(deployed) -> None:
    streamed = invoke(deployed, "run", "words", '{"text": "one boom two"}', "--stream")
    assert streamed.exit_code == 1
    lines = [json.loads(line) for line in streamed.output.splitlines()]
    assert lines[0] == {"status": "item", "output": {"word": "one", "index": 0}}
    assert lines[-1]["status"] == "error" and "boom at word 1" in lines[-1]["error"]
    again = invoke(deployed, "run", "words", '{"text": "still up"}', "--stream")
    assert again.exit_code == 0  # the deployment survived the failed stream


def test_endpoint_masks_the_token_and_prints_a_working_call(deployed) -> None:
    shown = invoke(deployed, "endpoint", "typed")
    assert shown.exit_code == 0, shown.output
    token = invoke(deployed, "endpoint", "typed", "--token").output.strip()
    assert len(token) >= 32
    assert token not in shown.output  # a secret is printed only when asked for
    assert "Authorization: Bearer $DEPLOYER_TOKEN" in shown.output
    assert "curl -s" in shown.output and "/run" in shown.output
    as_json = json.loads(invoke(deployed, "endpoint", "typed", "--json", "--show-token").output)
    url = as_json["url"]
    assert as_json["headers"] == {"Authorization": f"Bearer {token}"}
    assert as_json["paths"]["schema"] == "GET /schema"
    call = httpx.post(f"{url}/run", json={"text": "hi"}, headers=as_json["headers"],
                      trust_env=False)  # fmt: skip
    assert call.json() == {"status": "success", "output": {"echo": "hi"}}
    anonymous = httpx.post(f"{url}/run", json={"text": "hi"}, trust_env=False)
    assert anonymous.status_code == 401


def test_status_and_ls_report_readiness(deployed) -> None:
    status = json.loads(invoke(deployed, "status", "typed", "--json").output)
    assert status["status"] == "running" and status["readiness"] == "ready"
    assert status["load_error"] is None and status["entry_kind"] == "function"
    assert "stream" in status["capabilities"]
    rows = {row["name"]: row for row in json.loads(invoke(deployed, "ls", "--json").output)}
    assert rows["typed"]["readiness"] == "ready"
    assert rows["typed"]["input_schema"]["required"] == ["text"]


def test_unknown_names_are_one_line_exit_4(deployed) -> None:
    for command in ("schema", "endpoint"):
        result = invoke(deployed, command, "nosuch")
        assert result.exit_code == 4
        assert "no deployment named 'nosuch'" in result.output


# ---------------------------------------------------------------- the client side


def test_client_readiness_follows_loading_then_ready(tmp_path: Path) -> None:
    spec = {"entrypoint": "slowload:Model", "entry_kind": "class"}
    with serving(tmp_path, SLOW_LOAD_FILES, spec, wait=False) as served:
        client = EnvelopeClient(served.url, name="slow", timeout=10, headers=dict(
            served.client.headers))  # fmt: skip
        assert client.readiness().state == "loading"
        # the schema comes from the imported class, before its setup() has finished
        assert client.schema()["properties"] == {"x": {"type": "integer"}}
        (served.workspace / "go").write_text("")
        served.wait_ready()
        assert client.readiness().state == "ready"
        assert client.schema()["properties"] == {"x": {"type": "integer"}}
        client.close()
    assert client.readiness().state == "stopped"  # nothing answers any more


def test_client_readiness_reports_the_load_error(tmp_path: Path) -> None:
    broken = {"broken.py": "import not_a_module_anywhere\n\ndef f():\n    return 1\n"}
    with serving(tmp_path, broken, {"entrypoint": "broken:f"}) as served:
        client = EnvelopeClient(served.url, name="broken", timeout=10,
                                headers=dict(served.client.headers))  # fmt: skip
        readiness = client.readiness()
        assert readiness.state == "failed"
        assert "No module named 'not_a_module_anywhere'" in (readiness.error or "")
        client.close()


def test_client_without_the_token_is_not_ready(tmp_path: Path) -> None:
    with serving(tmp_path, {"m.py": "def f():\n    return 1\n"}, {"entrypoint": "m:f"}) as served:
        anonymous = EnvelopeClient(served.url, name="m", timeout=10)
        assert anonymous.readiness().state == "failed"  # 401 is an answer, not readiness
        assert anonymous.schema() is None
        anonymous.close()


def test_static_schema_from_a_recorded_signature() -> None:
    interface = RunInterface.model_validate(
        {
            "entrypoint": "predict:Predictor",
            "entry_kind": "class",
            "signature": [
                {"name": "prompt", "annotation": "str", "description": "what to say"},
                {"name": "steps", "annotation": "int", "required": False, "default": 4,
                 "ge": 1, "le": 50},
            ],
        }
    )  # fmt: skip
    schema = static_schema(interface)
    assert schema is not None
    assert schema["properties"]["prompt"] == {"type": "string", "description": "what to say"}
    assert schema["properties"]["steps"] == {"type": "integer", "minimum": 1, "maximum": 50,
                                             "default": 4}  # fmt: skip
    assert schema["required"] == ["prompt"]
    assert static_schema(RunInterface(entrypoint="app:app", entry_kind="asgi")) is None


def test_static_input_problem_checks_a_recorded_signature() -> None:
    interface = RunInterface.model_validate(
        {
            "entrypoint": "app:shout",
            "entry_kind": "modal_function",
            "signature": [
                {"name": "text", "annotation": "str"},
                {"name": "times", "annotation": "int", "required": False, "default": 1,
                 "ge": 1, "le": 5},
            ],
        }
    )  # fmt: skip
    assert static_input_problem(interface, {"text": "hi"}) is None
    assert static_input_problem(interface, {"text": "hi", "times": 3}) is None
    assert static_input_problem(interface, {"text": "hi", "times": 9}) == {
        "status": "error",
        "error": "invalid input: times: must be <= 5.0, got 9",
        "field": "times",
    }
    assert static_input_problem(interface, {"text": 3}) == {
        "status": "error",
        "error": "invalid input: text: expected str, got a number",
        "field": "text",
    }
    assert (static_input_problem(interface, {}) or {}).get("field") == "text"
    # a body given whole, or no recorded signature: nothing to check against
    whole = interface.model_copy(update={"calling_convention": "dict"})
    assert static_input_problem(whole, {"anything": 1}) is None
    assert static_input_problem(RunInterface(entrypoint="m:f"), {"x": 1}) is None
