"""The generated modal_app.py, imported for real with the modal package and called with
`.local()`: proof that the adaptation is a valid Modal app that computes the right answers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import modal
import pytest

from deployer.errors import DeployFailedError
from deployer.models import Resources
from deployer.testing import tree_hash
from deployer_modal import sdk
from deployer_modal import workspace as settings
from modal_support import EXAMPLES

SENTENCES = {
    "the striker scored twice before half time": "sport",
    "grill the fish with lemon and garlic": "food",
    "the new laptop has a faster chip": "tech",
}


def test_plain_function_becomes_a_modal_function(deployments) -> None:
    app = deployments.app(EXAMPLES / "hello", name="hello-app")
    assert isinstance(app.app, modal.App)
    assert app.app.name == "hello-app"  # named after the deployment
    assert isinstance(app.run, modal.Function)
    assert not hasattr(app, "Solution") and not hasattr(app, "web")
    assert app.LOAD_STEP is None
    assert app.run.local({"name": "Ada"}) == {"message": "Hello, Ada!", "length": 3}
    assert app.run.local({"name": "Ada", "greeting": "Hi"})["message"] == "Hi, Ada!"


def test_load_step_becomes_a_modal_class_with_enter(deployments) -> None:
    app = deployments.app(EXAMPLES / "modal_classifier", name="classifier")
    assert app.LOAD_STEP == "load"
    assert isinstance(app.Solution, modal.Cls)
    assert not hasattr(app, "run")
    solution = app.Solution()
    outputs = [solution.run.local({"text": text}) for text in SENTENCES]
    assert [out["topic"] for out in outputs] == list(SENTENCES.values())
    # @modal.enter() ran the load step once, before the first input
    assert {out["load_calls"] for out in outputs} == {1}
    assert all(out["loaded_before_first_call"] for out in outputs)
    assert [out["calls"] for out in outputs] == [1, 2, 3]


def test_source_is_never_written(deployments) -> None:
    source = EXAMPLES / "modal_classifier"
    before = tree_hash(source)
    app = deployments.app(source, name="readonly")
    app.Solution().run.local({"text": "soup"})
    assert tree_hash(source) == before


def test_dict_convention_and_async_entry_point(deployments) -> None:
    app = deployments.app(
        {
            "main.py": """
            import asyncio

            async def predict(inputs: dict) -> dict:
                await asyncio.sleep(0)
                return {"keys": sorted(inputs), "n": len(inputs)}
            """
        },
        name="dicts",
    )
    assert app.CALLING_CONVENTION == "dict"
    assert app.run.local({"b": 1, "a": 2}) == {"keys": ["a", "b"], "n": 2}


def test_bad_inputs_and_bad_outputs_are_clear(deployments) -> None:
    app = deployments.app(
        {
            "main.py": """
            def predict(text, times=1):
                if text == "object":
                    return object()
                return text * times
            """
        },
        name="errors",
    )
    with pytest.raises(TypeError, match=r"invalid input: txt: unknown field \(expected fields"):
        app.run.local({"txt": "a"})
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        app.run.local({"text": "object"})


def test_load_option_names_the_step_or_turns_it_off(deployments) -> None:
    files = {
        "main.py": """
        STATE = {}

        def prepare(size=3):
            STATE["table"] = list(range(size))

        def load():
            raise AssertionError("the conventional name must not win over the option")

        def predict(i: int) -> int:
            return STATE["table"][i]
        """
    }
    named = deployments.app(files, name="named", options={"load": "prepare"})
    assert named.LOAD_STEP == "prepare"
    assert named.Solution().run.local({"i": 2}) == 2
    off = deployments.app(files, name="off", options={"load": "none"})
    assert off.LOAD_STEP is None and isinstance(off.run, modal.Function)


def test_load_step_candidates_need_no_arguments(deployments) -> None:
    app = deployments.app(
        {
            "main.py": """
            def setup(path):  # needs an argument: not a load step
                raise AssertionError

            def predict(x: int) -> int:
                return x + 1
            """
        },
        name="noload",
    )
    assert app.LOAD_STEP is None
    assert app.run.local({"x": 1}) == 2


def test_unknown_load_option_fails_clearly(deployments) -> None:
    with pytest.raises(DeployFailedError, match=r"load step 'nope' is not a function in main.py"):
        deployments.app(EXAMPLES / "hello", name="badload", options={"load": "nope"})


def test_web_variant_answers_with_the_envelope(deployments) -> None:
    app = deployments.app(EXAMPLES / "hello", name="webby", options={"web": True})
    assert isinstance(app.web, modal.Function)
    assert app.web.local({"name": "Ada"}) == {
        "status": "success",
        "output": {"message": "Hello, Ada!", "length": 3},
    }
    error = app.web.local({"nme": "Ada"})
    assert (
        error["status"] == "error"
        and "unknown field (expected fields: name, greeting)" in error["error"]
    )
    assert "pip_install(fastapi[standard])" in app.IMAGE_STEPS


def test_web_variant_with_a_load_step(deployments) -> None:
    app = deployments.app(EXAMPLES / "modal_classifier", name="webcls", options={"web": True})
    result = app.Solution().web.local({"text": "bread and butter"})
    assert result["status"] == "success" and result["output"]["topic"] == "food"


def test_image_has_the_dependencies_and_the_code(deployments) -> None:
    with_requirements = deployments.app(EXAMPLES / "slugify", name="slugs")
    assert [
        "debian_slim(python_version={}.{})".format(*sys.version_info[:2]),
        "pip_install_from_requirements(requirements.txt)",
        "add_local_dir(., /root/solution)",
    ] == with_requirements.IMAGE_STEPS
    pyproject = deployments.app(
        {
            "pyproject.toml": """
            [project]
            name = "x"
            version = "0"
            dependencies = ["python-slugify"]
            """,
            "main.py": "def predict(x):\n    return x\n",
        },
        name="pyproj",
        options={"python_version": "3.12"},
    )
    assert pyproject.IMAGE_STEPS == [
        "debian_slim(python_version=3.12)",
        "pip_install_from_pyproject(pyproject.toml)",
        "add_local_dir(., /root/solution)",
    ]


def test_resources_and_timeouts_reach_the_modal_function(deployments) -> None:
    context = deployments.context(
        EXAMPLES / "hello",
        name="sized",
        options={"scaledown_window": 120, "min_containers": 1, "max_containers": 4},
        resources=Resources(gpu="A10G", cpu=2.0, memory="2Gi"),
        env={"API_KEY": "x"},
        run_timeout=90,
    )
    settings.write(context.adapted_path, settings.build(context))
    app = sdk.load_app(context.adapted_path)
    deployments.modules.append(app)
    options = app.OPTIONS  # what the @app.function decorator was given
    assert (options["gpu"], options["cpu"], options["memory"]) == ("A10G", 2.0, 2048)
    assert [type(s) for s in options["secrets"]] == [modal.Secret]
    assert app.OPTIONS["timeout"] == 90
    assert app.OPTIONS["startup_timeout"] == 60
    assert app.OPTIONS["scaledown_window"] == 120
    assert (app.OPTIONS["min_containers"], app.OPTIONS["max_containers"]) == (1, 4)
    written = json.loads((context.adapted_path / settings.SETTINGS_FILE).read_text())
    assert written["secret"] == "deployer-sized-v1" and written["secret_keys"] == ["API_KEY"]


def test_defaults_scale_to_zero_and_have_no_secret(deployments) -> None:
    app = deployments.app(EXAMPLES / "hello", name="defaults")
    assert app.OPTIONS["scaledown_window"] == 60
    assert "min_containers" not in app.OPTIONS and "max_containers" not in app.OPTIONS
    assert app.OPTIONS["secrets"] == [] and "gpu" not in app.OPTIONS


def test_env_files_stay_out_of_the_image(deployments) -> None:
    """Secrets reach Modal only as a Modal secret, never with the code."""
    from modal.file_pattern_matcher import FilePatternMatcher

    app = deployments.app(
        {
            "main.py": "def predict(x):\n    return x\n",
            ".env": "API_KEY=s3cr3t\n",
            "conf/.env.production": "API_KEY=s3cr3t\n",
        },
        name="dotenv",
    )
    ignored = FilePatternMatcher(*app.IMAGE_IGNORE)  # what add_local_dir leaves out
    assert ignored(Path(".env")) and ignored(Path("conf/.env.production"))
    assert not ignored(Path("main.py")) and not ignored(Path("deployer_modal.json"))
