"""The cloud target's deploy and remote-call paths, run for real up to Modal's client.

No Modal account is reachable here, so Modal's API is either absent (no token, no network)
or stood in for by `fake_modal_api.py`, a loopback gRPC server that speaks Modal's protocol
and rejects every token. The modal client really connects and sends its requests; deployer
must turn what comes back into one clear error (deploy) or the error envelope (run).
"""

from __future__ import annotations

import json
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from deployer.deployment.factory import DeploymentFactory
from deployer.errors import DeployFailedError, RunnerError, StrategyUnavailableError
from deployer.models import DeployConfig, SolutionResult
from deployer.paths import workspaces_dir
from deployer.testing import DeployerCli
from modal_support import EXAMPLES, files_under

SECRET = "s3cr3t-value-never-written-9d2e"
FAKE_MESSAGE = "Invalid token ID or secret (fake Modal API of deployer's tests)"
APP_ID = "ap-deployerTestFakeApp001"  # 22 characters, as Modal makes them


def deployed_state(name: str, variant: str = "function") -> dict[str, Any]:
    """What the state store would hold for an app deployed earlier (by another process)."""
    return {
        "target": "cloud",
        "running": True,
        "app_name": name,
        "app_id": APP_ID,
        "environment": None,
        "variant": variant,
        "web": False,
    }


def modal_knows(version: int, state: str = "APP_STATE_DEPLOYED") -> dict[str, Any]:
    """What Modal's API answers about the app of `deployed_state` at `version`: the replies
    of AppGetOrCreate (App.lookup) and AppGetInfo (App.info), as JSON, for its stand-in."""
    metadata = {
        "app_id": APP_ID,
        "lifecycle": {"app_state": state, "version": version, "created_at": 1.7e9},
    }
    return {
        "AppGetOrCreate": {"app_id": APP_ID, "handle_metadata": metadata},
        "AppGetInfo": {"info": metadata},
    }


# -- no token ----------------------------------------------------------------------------------


def test_no_token_fails_before_anything_else(deployments) -> None:
    config = DeployConfig(
        solution=SolutionResult(code_path=EXAMPLES / "hello"), strategy="modal", name="notoken"
    )
    factory = DeploymentFactory(deployments.registry)
    with pytest.raises(StrategyUnavailableError) as caught:
        factory.create(config)
    message = str(caught.value.message)
    assert "\n" not in message
    assert message.startswith("strategy 'modal' is unavailable here: no Modal token")
    assert "target=local" in (caught.value.hint or "")
    assert list(workspaces_dir().iterdir()) == []  # nothing was adapted
    assert factory.list() == []


def test_runner_refuses_to_deploy_without_token(deployments) -> None:
    runner = deployments.runner(deployments.context(EXAMPLES / "hello", name="bare"))
    with pytest.raises(StrategyUnavailableError, match=r"^cannot deploy to Modal: no Modal token"):
        runner.deploy()
    assert not (runner.context.adapted_path / "deployer_modal.json").exists()
    assert runner.state == {}


def test_run_without_token_is_an_error_envelope(deployments) -> None:
    runner = deployments.runner(deployments.context(EXAMPLES / "hello", name="later"))
    runner.state = deployed_state("later")
    result = runner.run({"name": "Ada"})
    assert result["status"] == "error"
    assert result["error"].startswith("cannot call later on Modal: no Modal token")
    assert not runner.is_healthy() and runner.status() == "failed"


def test_cli_without_token_prints_one_clear_line(tmp_path: Path, deployer_home: Path) -> None:
    cli = DeployerCli(
        deployer_home,
        env={"MODAL_CONFIG_PATH": str(tmp_path / "absent.toml")},
        unset=[name for name in os.environ if name.startswith("MODAL_")],
    )
    proc = cli("deploy", str(EXAMPLES / "hello"), "--strategy", "modal", timeout=120)
    assert proc.code == 3, proc.err
    lines = proc.err.strip().splitlines()
    assert lines[0].startswith("error: strategy 'modal' is unavailable here: no Modal token")
    assert lines[1].startswith("hint: run `modal token new`")
    assert len(lines) == 2 and proc.out == ""


# -- a token Modal's API rejects ---------------------------------------------------------------


def test_rejected_token_fake_modal_api_deploy(deployments, fake_modal_api) -> None:
    runner = deployments.runner(
        deployments.context(EXAMPLES / "hello", name="rejected", env={"API_KEY": SECRET})
    )
    with pytest.raises(StrategyUnavailableError) as caught:
        runner.deploy()
    assert caught.value.message == (
        f"deploying rejected to Modal failed: Modal rejected the credentials: {FAKE_MESSAGE}"
    )
    assert "modal token new" in (caught.value.hint or "")
    assert fake_modal_api.calls(), "the modal client never reached the API server"
    # the secret went nowhere but (would have gone) to Modal's API
    for path in files_under(runner.context.adapted_path, runner.context.runtime_dir):
        assert SECRET not in path.read_text(encoding="utf-8", errors="replace"), path
    runner.remove()  # nothing deployed: remove has nothing to undo on Modal


def test_rejected_token_fake_modal_api_factory_cleans_up(deployments, fake_modal_api) -> None:
    config = DeployConfig(
        solution=SolutionResult(code_path=EXAMPLES / "modal_classifier"),
        strategy="modal",
        name="cleanup",
        env={"API_KEY": SECRET},
    )
    factory = DeploymentFactory(deployments.registry)
    with pytest.raises(StrategyUnavailableError, match="Modal rejected the credentials"):
        factory.create(config)
    assert list(workspaces_dir().iterdir()) == []
    assert factory.list() == []


@pytest.mark.parametrize("variant", ["function", "cls"])
def test_rejected_token_fake_modal_api_remote_call(deployments, fake_modal_api, variant) -> None:
    source = EXAMPLES / ("modal_classifier" if variant == "cls" else "hello")
    runner = deployments.runner(deployments.context(source, name="remote"))
    runner.state = deployed_state("remote", variant)
    result = runner.run({"text": "hello"} if variant == "cls" else {"name": "Ada"})
    assert result == {
        "status": "error",
        "error": f"remote on Modal: Modal rejected the credentials: {FAKE_MESSAGE}",
    }
    assert fake_modal_api.calls()


def test_rejected_token_fake_modal_api_other_operations(deployments, fake_modal_api) -> None:
    runner = deployments.runner(deployments.context(EXAMPLES / "hello", name="ops"))
    runner.state = deployed_state("ops")
    assert runner.is_healthy() is False
    assert runner.status() == "failed"
    with pytest.raises(
        RunnerError,
        match=re.escape(
            f"logs of ops from Modal failed: Modal rejected the credentials: {FAKE_MESSAGE}"
        ),
    ):
        runner.logs(tail=10)
    with pytest.raises(RunnerError) as caught:
        runner.stop()
    assert caught.value.message == (
        f"stopping ops on Modal failed: Modal rejected the credentials: {FAKE_MESSAGE}"
    )
    assert runner.state["running"] is True  # not stopped: it may still be running


def test_cli_with_rejected_token_fake_modal_api(fake_modal_api, deployer_home) -> None:
    proc = DeployerCli(deployer_home, unset=())(
        "deploy", str(EXAMPLES / "hello"), "--strategy", "modal", "--name", "clirej",
        timeout=120,
    )  # fmt: skip
    assert proc.code == 3, proc.err
    lines = proc.err.strip().splitlines()
    assert lines[-2] == (
        f"error: deploying clirej to Modal failed: Modal rejected the credentials: {FAKE_MESSAGE}"
    )
    assert lines[-1].startswith("hint: run `modal token new`")
    assert proc.out == ""


# -- Modal's API out of reach ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ("https://api.modal.invalid", "api.modal.invalid: DNS lookup failed"),
        ("closed", "Connection refused"),
    ],
)
def test_unreachable_api_fails_fast_and_clearly(
    deployments, fake_token, monkeypatch, closed_port, server, expected
) -> None:
    url = f"http://127.0.0.1:{closed_port}" if server == "closed" else server
    monkeypatch.setenv("MODAL_SERVER_URL", url)
    runner = deployments.runner(deployments.context(EXAMPLES / "hello", name="offline"))
    with pytest.raises(DeployFailedError) as caught:
        runner.deploy()
    assert caught.value.message.startswith(
        "cannot deploy offline on Modal: cannot reach Modal's API"
    )
    assert expected in caught.value.message
    runner.state = deployed_state("offline")
    result = runner.run({"name": "Ada"})
    assert result["status"] == "error" and expected in result["error"]


def test_connection_lost_inside_the_modal_client(
    deployments, fake_token, monkeypatch, hang_up_server
) -> None:
    """The TCP check passes, then the modal client's own HTTP/2 connection is cut."""
    monkeypatch.setenv("MODAL_SERVER_URL", hang_up_server)
    runner = deployments.runner(deployments.context(EXAMPLES / "hello", name="cut"))
    with pytest.raises(DeployFailedError) as caught:
        runner.deploy()
    assert caught.value.message == (
        "deploying cut to Modal failed: cannot reach Modal's API: Connection lost "
        "(StreamTerminatedError)"
    )
    runner.state = deployed_state("cut")
    result = runner.run({"name": "Ada"})
    assert result["status"] == "error"
    assert result["error"].startswith("cut on Modal: cannot reach Modal's API: Connection lost")


def test_state_round_trips_through_json(deployments) -> None:
    state = deployed_state("json")
    runner = deployments.runner(deployments.context(EXAMPLES / "hello", name="json"), state)
    assert json.loads(json.dumps(runner.state)) == state
    assert runner.provider == "modal" and runner.endpoint is None


@pytest.mark.parametrize("variant", ["function", "cls"])
def test_stream_goes_through_modal_remote_gen(
    deployments, fake_modal_api, sdk_calls, variant
) -> None:
    source = EXAMPLES / ("modal_classifier" if variant == "cls" else "hello")
    runner = deployments.runner(deployments.context(source, name="streamer"))
    runner.state = deployed_state("streamer", variant)
    inputs = {"text": "hello"} if variant == "cls" else {"name": "Ada"}
    assert list(runner.stream(inputs)) == [
        {
            "status": "error",
            "error": f"streamer on Modal: Modal rejected the credentials: {FAKE_MESSAGE}",
        }
    ]
    made = sdk_calls.made()
    if variant == "cls":
        assert made[0] == ("Cls.from_name", ("streamer", "Solution"), {"environment_name": None})
    else:
        assert made[0] == ("Function.from_name", ("streamer", "stream"), {"environment_name": None})
    assert made[-1] == ("Function.remote_gen", (inputs,), {})
    assert fake_modal_api.calls()


# -- the solution's own Modal app (several @app.functions, one chosen) ---------------------------

PUBLISHED_APP = EXAMPLES / "published" / "modal_app"


def test_authors_app_is_deployed_as_it_is(deployments, modal_api_answering, sdk_calls) -> None:
    """The author's App itself goes to App.deploy. Modal's API stand-in knows the app (v3 is
    deployed), then refuses the token at the deploy's first write."""
    api = modal_api_answering(modal_knows(3))
    context = deployments.context(PUBLISHED_APP, name="own-app", entrypoint="app:shout")
    runner = deployments.runner(context)
    with pytest.raises(StrategyUnavailableError, match="Modal rejected the credentials"):
        runner.deploy()
    deploys = [call for call in sdk_calls.made() if call[0] == "App.deploy"]
    assert deploys == [("App.deploy", (), {"name": "own-app", "environment_name": None})]
    # what reached Modal's API: the look-up of what serves now, then the deploy's own
    assert api.requests() == [
        {"method": "AppGetOrCreate", "request": {"app_name": "own-app"}},
        {"method": "AppGetInfo", "request": {"app_id": APP_ID}},
        {"method": "AppGetByDeploymentName", "request": {"name": "own-app"}},
    ]
    (app,) = sdk_calls.on("App.deploy")
    assert app.name == "deployer-published-modal"  # the author's App, not a generated one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        functions = app.registered_functions
    assert sorted(functions) == ["shout", "square"]
    # the author's own functions (with their image and settings), not a wrapper of ours
    assert functions["shout"].local("hi", times=2) == "HI HI"
    assert "modal.Secret.objects" not in str(sdk_calls.made())  # no deployer secret
    assert not (context.adapted_path / "deployer_modal.json").exists()
    assert "app" not in sys.modules  # the author's module was imported, then forgotten


@pytest.mark.parametrize("generator", [False, True])
def test_authors_function_is_called_by_name(
    deployments, fake_modal_api, sdk_calls, generator
) -> None:
    context = deployments.context(PUBLISHED_APP, name="own-call", entrypoint="app:shout")
    state = {**deployed_state("own-call", "author"), "function": "shout", "generator": generator}
    runner = deployments.runner(context, state)
    inputs = {"text": "hi", "times": 2}
    expected = f"own-call on Modal: Modal rejected the credentials: {FAKE_MESSAGE}"
    assert runner.run(inputs) == {"status": "error", "error": expected}
    assert list(runner.stream(inputs)) == [{"status": "error", "error": expected}]
    made = sdk_calls.made()
    assert made[0] == ("Function.from_name", ("own-call", "shout"), {"environment_name": None})
    call = "Function.remote_gen" if generator else "Function.remote"
    assert made.count((call, (), inputs)) == 2  # its own arguments, not one dict


@pytest.mark.parametrize(
    ("inputs", "field", "says"),
    [
        ({"text": "hi", "times": "two"}, "times", "expected int"),
        ({"times": 2}, "text", "required field missing (expected str)"),
        ({"text": "hi", "loud": True}, "loud", "unknown field (expected fields: text, times)"),
    ],
)
def test_authors_function_inputs_are_checked_before_modal(
    deployments, fake_modal_api, sdk_calls, inputs, field, says
) -> None:
    """Inputs that do not fit the author's signature (`shout(text: str, times: int = 1)`)
    are the error envelope with `field`, as on every strategy, and never reach Modal (whose
    answer would be the function's TypeError, remotely)."""
    context = deployments.context(PUBLISHED_APP, name="own-check", entrypoint="app:shout")
    state = {**deployed_state("own-check", "author"), "function": "shout", "generator": False}
    runner = deployments.runner(context, state)
    answer = runner.run(inputs)
    assert answer["status"] == "error" and answer["field"] == field
    assert answer["error"].startswith("invalid input: ") and says in answer["error"]
    assert list(runner.stream(inputs)) == [answer]
    assert not [call for call in sdk_calls.made() if call[0].startswith("Function.")]


def test_authors_app_refuses_env_and_web_before_modal(deployments, fake_token) -> None:
    context = deployments.context(
        PUBLISHED_APP, name="own-env", entrypoint="app:square", env={"API_KEY": SECRET}
    )
    with pytest.raises(DeployFailedError, match="--env has no way into it") as caught:
        deployments.runner(context).deploy()
    assert "modal.Secret" in (caught.value.hint or "")
    context = deployments.context(
        PUBLISHED_APP, name="own-web", entrypoint="app:square", options={"web": True}
    )
    with pytest.raises(DeployFailedError, match="web=true wraps the entry point"):
        deployments.runner(context).deploy()


def test_authors_app_import_failure_is_one_line(deployments, fake_token) -> None:
    files = {
        "app.py": """
        import modal
        import not_installed_anywhere

        app = modal.App("needs-things")

        @app.function()
        def go(x: int) -> int:
            return x
        """
    }
    runner = deployments.runner(deployments.context(files, name="own-imp", entrypoint="app:go"))
    with pytest.raises(DeployFailedError) as caught:
        runner.deploy()  # before any call to Modal
    assert caught.value.message == (
        "importing app (the solution's Modal app) failed: "
        "ModuleNotFoundError: No module named 'not_installed_anywhere'"
    )
    assert "as `modal deploy` does" in (caught.value.hint or "")
    assert "app" not in sys.modules and runner.state == {}


# -- versions: each deploy is a new version of the app on Modal, rollback is Modal's own ----------
#
# Modal's API is stood in for by fake_modal_api.py answering what Modal would say about the app
# (deployed, version N live); the modal client and Modal's own rollback command run for real.


def versioned(name: str, modal_version: int, running: bool = True) -> dict[str, Any]:
    return {**deployed_state(name), "running": running, "modal_version": modal_version}


def test_stopping_a_replaced_version_leaves_the_app_serving(
    deployments, modal_api_answering
) -> None:
    api = modal_api_answering({**modal_knows(5), "AppStop": {}})
    context = deployments.context(EXAMPLES / "hello", name="svc")
    replaced = deployments.runner(context, versioned("svc", 4))
    replaced.stop()  # as core does once version k+1 is live
    assert replaced.state["running"] is False
    assert "AppStop" not in api.calls()  # Modal serves v5: stopping the app would stop it
    live = deployments.runner(context, versioned("svc", 5))
    live.stop()
    assert api.requests("AppStop") == [
        {"app_id": APP_ID, "source": "APP_STOP_SOURCE_PYTHON_CLIENT"}
    ]


def test_starting_a_replaced_version_is_modals_rollback(deployments, modal_api_answering) -> None:
    lifecycle = modal_knows(6)["AppGetInfo"]["info"]["lifecycle"]
    api = modal_api_answering(
        {**modal_knows(6), "AppGetLifecycle": {"lifecycle": lifecycle}, "AppRollback": {}}
    )
    context = deployments.context(EXAMPLES / "hello", name="svc")
    back = deployments.runner(context, versioned("svc", 4, running=False))
    back.start()  # core's rollback: version k brought back, health first
    assert api.requests("AppRollback") == [{"app_id": APP_ID, "version": 4}]
    # Modal records a rollback as a new version (here the stand-in still says v6)
    assert back.state["running"] is True and back.state["modal_version"] == 6
    assert "AppPublish" not in api.calls()  # nothing was deployed again


def test_a_failed_rollback_is_one_line(deployments, fake_modal_api) -> None:
    context = deployments.context(EXAMPLES / "hello", name="svc")
    back = deployments.runner(context, versioned("svc", 4, running=False))
    with pytest.raises(DeployFailedError) as caught:
        back.start()
    assert caught.value.message == (
        "rolling svc back to Modal version v4 failed: Modal rejected the credentials: "
        f"{FAKE_MESSAGE}"
    )
    assert back.state["running"] is False


def test_each_version_has_its_own_secret(deployments, modal_api_answering) -> None:
    """Deploying v2 with another --env writes v2's secret, never the one v1 serves with."""
    api = modal_api_answering(modal_knows(1))
    context = deployments.context(
        EXAMPLES / "hello", name="svc", env={"API_KEY": SECRET}
    ).model_copy(update={"version": 2})
    with pytest.raises(StrategyUnavailableError, match="Modal rejected the credentials"):
        deployments.runner(context).deploy()
    settings = (context.adapted_path / "deployer_modal.json").read_text()
    assert json.loads(settings)["secret"] == "deployer-svc-v2" and SECRET not in settings
    secrets = [r for r in api.requests() if r["method"].startswith("Secret")]
    assert secrets and all("deployer-svc-v2" in json.dumps(r) for r in secrets), secrets
    assert "deployer-svc-v1" not in json.dumps(api.requests())


def test_removing_a_version_deletes_its_own_secret_only(deployments, modal_api_answering):
    """A failed v6 is cleaned up with its own secret; v5, live, reads deployer-svc-v5."""
    api = modal_api_answering(modal_knows(5))
    context = deployments.context(EXAMPLES / "hello", name="svc")
    failed = {"target": "cloud", "running": False, "app_name": "svc", "secret": "deployer-svc-v6"}
    with pytest.raises(RunnerError, match="deleting the Modal secret deployer-svc-v6 failed"):
        deployments.runner(context, failed).remove()  # the stand-in refuses the delete itself
    assert [call for call in api.calls() if call.startswith("Secret")]
    assert "AppGetOrCreate" not in api.calls()  # no need to ask what serves


def test_removing_a_failed_redeploy_keeps_a_shared_secret_from_before_versions(
    deployments, modal_api_answering
) -> None:
    """A record from before versions names the one secret every version read: while version
    k still serves, core's clean-up of a failed k+1 must not delete it."""
    api = modal_api_answering(modal_knows(5))
    context = deployments.context(EXAMPLES / "hello", name="svc")
    failed = {"target": "cloud", "running": False, "app_name": "svc", "secret": "deployer-svc"}
    deployments.runner(context, failed).remove()
    assert not [call for call in api.calls() if call.startswith("Secret")]
