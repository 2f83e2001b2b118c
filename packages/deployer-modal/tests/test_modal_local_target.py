"""target=local: the runner imports the generated app and calls it with `.local()`."""

from __future__ import annotations

import json
import sqlite3

import pytest

from deployer.deployment.factory import DeploymentFactory
from deployer.errors import DeployFailedError
from deployer.models import DeployConfig, SolutionResult
from deployer.testing import DeployerCli, tree_hash
from deployer_modal.targets.local import ModalLocalRunner as ModalRunner
from modal_support import EXAMPLES, files_under

LOCAL = {"target": "local"}


def test_runs_a_plain_function(deployments) -> None:
    runner = deployments.local(EXAMPLES / "hello", name="hello")
    assert runner.run({"name": "Ada"}) == {
        "status": "success",
        "output": {"message": "Hello, Ada!", "length": 3},
    }
    assert runner.is_healthy() and runner.status() == "running"
    assert runner.endpoint is None and runner.provider == "local"
    assert runner.state == {"target": "local", "running": True, "variant": "function"}
    json.dumps(runner.state)


def test_load_step_runs_once_at_deploy(deployments) -> None:
    runner = deployments.local(EXAMPLES / "modal_classifier", name="classifier")
    assert runner.state["variant"] == "cls"
    first = runner.run({"text": "the keeper saved a penalty"})["output"]
    second = runner.run({"text": "whisk the eggs with sugar"})["output"]
    assert (first["topic"], second["topic"]) == ("sport", "food")
    assert first["load_calls"] == second["load_calls"] == 1
    assert first["loaded_before_first_call"] is True


def test_errors_come_back_as_envelopes(deployments) -> None:
    runner = deployments.local(
        {
            "main.py": """
            def predict(x):
                if x < 0:
                    raise ValueError("x must not be negative")
                return {"sqrt": x ** 0.5}
            """
        },
        name="errs",
    )
    assert runner.run({"x": -1}) == {
        "status": "error",
        "error": "ValueError: x must not be negative",
    }
    assert runner.run({"x": 4}) == {"status": "success", "output": {"sqrt": 2.0}}
    wrong = runner.run({"y": 4})
    assert wrong["status"] == "error" and "y: unknown field (expected fields: x)" in wrong["error"]
    assert runner.run([1]) == {"status": "error", "error": "inputs must be a JSON object, got list"}


def test_stop_start_and_reattach(deployments) -> None:
    runner = deployments.local(EXAMPLES / "hello", name="cycle")
    runner.stop()
    assert not runner.is_healthy() and runner.status() == "stopped"
    stopped = runner.run({"name": "Ada"})
    assert stopped["status"] == "error" and "deployer start cycle" in stopped["error"]
    runner.stop()  # idempotent
    runner.start()
    assert runner.run({"name": "Bo"})["output"]["message"] == "Hello, Bo!"
    # another process: a fresh runner from the saved context and state
    again = deployments.runner(runner.context, json.loads(json.dumps(runner.state)))
    assert again.run({"name": "Cy"})["output"]["message"] == "Hello, Cy!"


def test_import_error_fails_the_deploy_clearly(deployments) -> None:
    with pytest.raises(
        DeployFailedError, match=r"loading main:predict failed: ModuleNotFoundError"
    ):
        deployments.local(
            {"main.py": "import not_a_module_anywhere\n\ndef predict(x):\n    return x\n"},
            name="broken",
        )


def test_settings_modal_refuses_fail_the_deploy_clearly(deployments) -> None:
    with pytest.raises(DeployFailedError) as caught:
        deployments.local(EXAMPLES / "hello", name="tiny", options={"scaledown_window": 1})
    assert caught.value.message == (
        "modal_app.py could not be loaded: InvalidError: "
        "`scaledown_window` must be between 2 and 3600 (inclusive)"
    )


def test_load_step_error_fails_the_deploy_clearly(deployments) -> None:
    with pytest.raises(DeployFailedError) as caught:
        deployments.local(
            {
                "main.py": """
                def load():
                    raise RuntimeError("weights missing")

                def predict(x):
                    return x
                """
            },
            name="badload",
        )
    assert "RuntimeError: weights missing" in caught.value.message
    assert caught.value.hint == "raised at main.py:2"


def test_env_reaches_the_solution_and_no_generated_file(
    deployments, deployer_home, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cr3t-value-4f1c"
    monkeypatch.delenv("DEPLOYER_TEST_SECRET", raising=False)
    source = deployments.source(
        {
            "main.py": """
            import os

            def predict():
                return {"secret_length": len(os.environ["DEPLOYER_TEST_SECRET"])}
            """
        },
        "secretive",
    )
    before = tree_hash(source)
    config = DeployConfig(
        solution=SolutionResult(code_path=source),
        strategy="modal",
        options=LOCAL,
        env={"DEPLOYER_TEST_SECRET": secret},
        name="secretive",
    )
    software = DeploymentFactory(deployments.registry).create(config)
    try:
        assert software.run({}) == {"status": "success", "output": {"secret_length": len(secret)}}
        workspace = software.info.adapted_path
        generated = json.loads((workspace / "deployer_modal.json").read_text())
        assert generated["secret"] == "deployer-secretive-v1"
        assert generated["secret_keys"] == ["DEPLOYER_TEST_SECRET"]
        for path in files_under(workspace):
            assert secret not in path.read_text(encoding="utf-8", errors="replace"), path
        with sqlite3.connect(deployer_home / "state.db") as db:
            assert secret not in json.dumps(db.execute("select * from sqlite_master").fetchall())
            for (table,) in db.execute("select name from sqlite_master where type='table'"):
                assert secret not in json.dumps(db.execute(f"select * from {table}").fetchall())
    finally:
        software.remove()
    assert tree_hash(source) == before


def test_factory_records_and_attaches(deployments) -> None:
    from deployer.deployment.factory import attach

    config = DeployConfig(
        solution=SolutionResult(code_path=EXAMPLES / "modal_classifier"),
        strategy="modal",
        options=LOCAL,
        name="recorded",
    )
    software = DeploymentFactory(deployments.registry).create(config)
    try:
        assert software.info.provider == "local"
        again = attach("recorded")
        assert isinstance(again.runner, ModalRunner)
        assert again.run({"text": "grill the vegetables"})["output"]["topic"] == "food"
        again.stop()
        assert attach("recorded").status() == "stopped"
        assert attach("recorded").run({"text": "x"})["status"] == "error"
    finally:
        software.remove()


# -- streaming, schema, readiness, validation (target=local runs the generated app for real) --

TOKENS = {
    "main.py": """
    def predict(text: str, fail_at: int = -1):
        for i, word in enumerate(text.split()):
            if i == fail_at:
                raise RuntimeError(f"broke at {word}")
            yield {"word": word, "i": i}
    """
}


def test_generator_streams_its_items_through_the_modal_generator(deployments) -> None:
    runner = deployments.local(TOKENS, name="tokens")
    assert list(runner.stream({"text": "a b c"})) == [
        {"status": "item", "output": {"word": "a", "i": 0}},
        {"status": "item", "output": {"word": "b", "i": 1}},
        {"status": "item", "output": {"word": "c", "i": 2}},
        {"status": "success"},
    ]
    # raising half-way: the items so far, then the error; the deployment keeps serving
    assert list(runner.stream({"text": "a b c", "fail_at": 1})) == [
        {"status": "item", "output": {"word": "a", "i": 0}},
        {"status": "error", "error": "RuntimeError: broke at b"},
    ]
    assert runner.run({"text": "x y"}) == {
        "status": "success",
        "output": [{"word": "x", "i": 0}, {"word": "y", "i": 1}],
    }


def test_a_plain_answer_streams_as_one_item(deployments) -> None:
    runner = deployments.local(EXAMPLES / "modal_classifier", name="one-item")
    items = list(runner.stream({"text": "the keeper saved a penalty"}))
    assert [item["status"] for item in items] == ["item", "success"]
    assert items[0]["output"]["topic"] == "sport"


def test_schema_readiness_and_invalid_inputs_name_the_field(deployments) -> None:
    runner = deployments.local(TOKENS, name="typed")
    schema = runner.schema()
    assert schema is not None and schema["required"] == ["text"]
    assert schema["properties"]["text"]["type"] == "string"
    assert schema["properties"]["fail_at"]["type"] == "integer"
    assert runner.readiness().state == "ready"
    wrong = runner.run({"text": 3})
    assert wrong["status"] == "error" and wrong["field"] == "text"
    assert wrong["error"].startswith("invalid input: text: ")
    streamed = list(runner.stream({"text": "a", "extra": 1}))
    assert len(streamed) == 1 and streamed[0]["field"] == "extra"
    assert streamed[0]["error"].startswith("invalid input: extra: unknown field")
    assert list(runner.stream([1])) == [
        {"status": "error", "error": "inputs must be a JSON object, got list"}
    ]
    runner.stop()
    assert runner.readiness().state == "stopped"
    (stopped,) = runner.stream({"text": "a"})
    assert stopped["error"].startswith("deployment typed is not running")


def test_cli_streams_and_exits_2_on_an_invalid_field(deployments, deployer_home) -> None:
    source = deployments.source(TOKENS, "cli-tokens")
    config = DeployConfig(
        solution=SolutionResult(code_path=source), strategy="modal", options=LOCAL, name="clitok"
    )
    software = DeploymentFactory(deployments.registry).create(config)
    try:
        assert software.info.input_schema["required"] == ["text"]

        cli = DeployerCli(deployer_home, unset=())  # this test's environment, as it is
        streamed = cli("run", "clitok", '{"text": "hi there"}', "--stream", timeout=120)
        assert streamed.code == 0, streamed.err
        lines = [json.loads(line) for line in streamed.out.splitlines()]
        assert [line.get("output") for line in lines] == [
            {"word": "hi", "i": 0}, {"word": "there", "i": 1}, None,
        ]  # fmt: skip
        refused = cli("run", "clitok", '{"text": 3}', timeout=120)
        assert refused.code == 2, refused.err
        assert refused.json()["field"] == "text"
    finally:
        software.remove()


# -- the solution's own Modal app: called through Modal's own local path --------------------------


@pytest.mark.parametrize(
    ("entrypoint", "inputs", "output"),
    [("app:shout", {"text": "hi", "times": 2}, "HI HI"), ("app:square", {"x": 7}, 49)],
)
def test_authors_modal_app_runs_the_chosen_function(
    deployments, entrypoint, inputs, output
) -> None:
    runner = deployments.local(
        EXAMPLES / "published" / "modal_app", name="own-local", entrypoint=entrypoint
    )
    assert runner.run(inputs) == {"status": "success", "output": output}
    assert list(runner.stream(inputs)) == [
        {"status": "item", "output": output},
        {"status": "success"},
    ]


def test_authors_modal_generator_streams(deployments) -> None:
    runner = deployments.local(
        {
            "app.py": """
            import modal

            app = modal.App("token-stream")
            image = modal.Image.debian_slim()


            @app.function(image=image)
            def tokens(text: str):
                for word in text.split():
                    yield word.upper()


            @app.function(image=image)
            def count(text: str) -> int:
                return len(text.split())
            """
        },
        name="own-gen",
        entrypoint="app:tokens",
    )
    assert list(runner.stream({"text": "a b"})) == [
        {"status": "item", "output": "A"},
        {"status": "item", "output": "B"},
        {"status": "success"},
    ]
    assert runner.run({"text": "a b"}) == {"status": "success", "output": ["A", "B"]}
