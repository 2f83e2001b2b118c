"""mode=inprocess: the entry point imported with importlib and called in this process."""

from __future__ import annotations

import json
import sys

import pytest

from deployer.errors import DeployFailedError
from deployer_local.targets.inprocess import PREFIX

INPROCESS = {"mode": "inprocess"}


def test_dict_convention(deployments) -> None:
    runner = deployments.deploy(
        {"main.py": "def predict(inputs):\n    return {'echo': inputs, 'n': len(inputs)}\n"},
        options=INPROCESS,
    )
    assert runner.context.run_interface.calling_convention == "dict"
    assert runner.run({"a": 1, "b": [1, 2]}) == {
        "status": "success",
        "output": {"echo": {"a": 1, "b": [1, 2]}, "n": 2},
    }
    assert runner.is_healthy()
    assert runner.endpoint is None
    assert runner.status() == "running"
    assert runner.state["mode"] == "inprocess"
    json.dumps(runner.state)  # the state store must be able to save it


def test_kwargs_convention_and_mismatched_keys(deployments) -> None:
    runner = deployments.deploy(
        {"main.py": "def predict(text, times=2):\n    return text * times\n"}, options=INPROCESS
    )
    assert runner.context.run_interface.calling_convention == "kwargs"
    assert runner.run({"text": "ab"}) == {"status": "success", "output": "abab"}
    assert runner.run({"text": "x", "times": 3})["output"] == "xxx"
    result = runner.run({"txt": "ab"})
    assert result["status"] == "error"
    assert "txt: unknown field (expected fields: text, times)" in result["error"]
    assert "txt" in result["error"]


def test_async_entry_point(deployments) -> None:
    runner = deployments.deploy(
        {
            "main.py": """
            import asyncio

            async def predict(x):
                await asyncio.sleep(0)
                return {"double": x * 2}
            """
        },
        options=INPROCESS,
    )
    assert runner.run({"x": 21}) == {"status": "success", "output": {"double": 42}}


def test_async_entry_point_called_from_a_running_loop(deployments) -> None:
    import asyncio

    runner = deployments.deploy(
        {"main.py": "async def predict(x):\n    return x + 1\n"}, options=INPROCESS
    )

    async def caller() -> dict:
        return runner.run({"x": 1})

    assert asyncio.run(caller()) == {"status": "success", "output": 2}


def test_exception_gives_error_envelope_and_next_call_works(deployments) -> None:
    runner = deployments.deploy(
        {
            "main.py": """
            def predict(x):
                if x < 0:
                    raise ValueError(f"x must be >= 0, got {x}")
                return x
            """
        },
        options=INPROCESS,
    )
    assert runner.run({"x": -1}) == {
        "status": "error",
        "error": "ValueError: x must be >= 0, got -1",
    }
    assert runner.run({"x": 5}) == {"status": "success", "output": 5}
    assert runner.is_healthy()


def test_non_serialisable_output(deployments) -> None:
    runner = deployments.deploy(
        {"main.py": "def predict(kind='object'):\n    return object() if kind == 'object' else "
         "{3, 1}\n"}, options=INPROCESS,
    )  # fmt: skip
    result = runner.run({})
    assert result["status"] == "error"
    assert "not JSON-serialisable" in result["error"] and "object" in result["error"]
    # what the serving runtime's encoder converts (a set), in-process converts the same way
    assert runner.run({"kind": "set"}) == {"status": "success", "output": [1, 3]}


def test_sibling_imports_and_same_module_names_do_not_collide(deployments) -> None:
    first = deployments.deploy(
        {
            "main.py": "from helper_one import VALUE\n\ndef predict():\n    return VALUE\n",
            "helper_one.py": "VALUE = 'first'\n",
        },
        name="first",
        options=INPROCESS,
    )
    second = deployments.deploy(
        {"main.py": "def predict():\n    return 'second'\n"}, name="second", options=INPROCESS
    )
    assert first.run({})["output"] == "first"
    assert second.run({})["output"] == "second"
    assert first._alias != second._alias
    assert first._alias.startswith(PREFIX)
    assert sys.modules[first._alias].__file__ == str(first.context.adapted_path / "main.py")
    assert str(first.context.adapted_path) not in sys.path


def test_package_entry_point_with_relative_import(deployments) -> None:
    runner = deployments.deploy(
        {
            "pkg/__init__.py": "",
            "pkg/model.py": "from .weights import W\n\ndef infer(x):\n    return x * W\n",
            "pkg/weights.py": "W = 3\n",
        },
        entrypoint="pkg.model:infer",
        options=INPROCESS,
    )
    assert runner.run({"x": 2}) == {"status": "success", "output": 6}


def test_env_reaches_the_solution(deployments, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEPLOYER_TEST_GREETING", raising=False)
    runner = deployments.deploy(
        {
            "main.py": """
            import os

            def predict():
                return os.environ["DEPLOYER_TEST_GREETING"]
            """
        },
        options=INPROCESS,
        env={"DEPLOYER_TEST_GREETING": "hello"},
    )
    assert runner.run({})["output"] == "hello"


def test_reattached_runner_imports_lazily_and_stop_start(deployments) -> None:
    context = deployments.context(
        {"main.py": "def predict(x):\n    return x * 10\n"}, options=INPROCESS
    )
    first = deployments.runner(context)
    first.deploy()
    state = json.loads(json.dumps(first.state))

    other = deployments.runner(context, state)  # as another process would build it
    assert other._function is None
    assert other.run({"x": 4}) == {"status": "success", "output": 40}

    other.stop()
    other.stop()  # idempotent
    stopped = other.run({"x": 1})
    assert stopped["status"] == "error"
    assert "is not running" in stopped["error"]
    assert "deployer start sol" in stopped["error"]
    assert not other.is_healthy()
    assert other.status() == "stopped"
    other.start()
    assert other.run({"x": 1})["output"] == 10


def test_import_error_is_a_one_line_deploy_failure(deployments) -> None:
    context = deployments.context(
        {
            "main.py": """
            import json
            raise RuntimeError("cannot load weights")

            def predict():
                pass
            """
        },
        options=INPROCESS,
    )
    runner = deployments.runner(context)
    before = {name for name in sys.modules if name.startswith(PREFIX)}
    with pytest.raises(DeployFailedError) as caught:
        runner.deploy()
    assert "RuntimeError: cannot load weights" in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.hint == "raised at main.py:2"
    assert {name for name in sys.modules if name.startswith(PREFIX)} == before
    # A reattached runner reports the same problem as an envelope instead of raising.
    result = deployments.runner(context, {"mode": "inprocess", "running": True}).run({})
    assert result["status"] == "error"
    assert "cannot load weights" in result["error"]


def test_missing_module_dependency_is_reported(deployments) -> None:
    context = deployments.context(
        {"main.py": "import deployer_no_such_module_xyz\n\ndef predict():\n    pass\n"},
        options=INPROCESS,
    )
    with pytest.raises(DeployFailedError, match="deployer_no_such_module_xyz"):
        deployments.runner(context).deploy()


def test_inputs_must_be_a_dict(deployments) -> None:
    runner = deployments.deploy(
        {"main.py": "def predict(inputs):\n    return 1\n"}, options=INPROCESS
    )
    result = runner.run([1, 2])  # type: ignore[arg-type]
    assert result == {"status": "error", "error": "inputs must be a JSON object, got list"}
