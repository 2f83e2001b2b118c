"""DeploymentFactory and DeployedSoftware: the pipeline, reattachment and rollback."""

from __future__ import annotations

import os

import pytest

import deployer
from deployer.deployment.factory import DeploymentFactory
from deployer.errors import (
    DeployFailedError,
    OptionError,
    StrategyNotFoundError,
    StrategyUnavailableError,
    UsageError,
)
from deployer.models import DeployConfig, SolutionResult
from deployer.paths import deployer_home, workspaces_dir
from deployer.plugins.registry import StrategyRegistry
from deployer.testing import tree_hash


@pytest.fixture
def registry(plugins, home):
    return StrategyRegistry(
        [
            plugins.make("echo", fail_fancy=True),
            plugins.make("offline", extra_config="requirements:\n  binaries: [no-such-xyz]\n"),
        ]
    )


def _config(path, **kwargs) -> DeployConfig:
    return DeployConfig(solution=SolutionResult(code_path=path), **kwargs)


def test_create_run_stop_start_remove(registry, make_solution):
    root = make_solution()
    before = tree_hash(root)
    factory = DeploymentFactory(registry)
    software = factory.create(_config(root, strategy="auto", name="svc", env={"TOKEN": "s3cr3t"}))
    assert software.run({"name": "Ada"}) == {"status": "success", "output": {"hi": "Ada"}}
    info = software.info
    assert (info.name, info.strategy, info.status) == ("svc", "echo", "running")
    assert info.env_keys == ["TOKEN"] and "echo scored" in info.reasoning
    # another "process": reattach from the store only
    again = DeploymentFactory(registry).attach("svc")
    assert again.run({"name": "Bo"})["output"] == {"hi": "Bo"}
    assert again.logs() == "env keys: TOKEN\n"
    again.stop()
    assert DeploymentFactory(registry).attach("svc").run({"name": "x"})["status"] == "error"
    assert factory.store.get("svc").status == "stopped"
    again.start()
    assert DeploymentFactory(registry).attach("svc").runner.state["starts"] == 2
    again.remove()
    assert factory.store.names() == []
    assert os.listdir(workspaces_dir()) == []
    assert tree_hash(root) == before


def test_secret_values_never_reach_the_store(registry, make_solution):
    DeploymentFactory(registry).create(_config(make_solution(), env={"API_KEY": "xyzzy-secret"}))
    assert b"xyzzy-secret" not in (deployer_home() / "state.db").read_bytes()
    env_file = next(deployer_home().glob("deployments/*/env.json"))
    assert env_file.stat().st_mode & 0o077 == 0


def test_run_envelopes_for_bad_inputs_and_raising_solution(registry, make_solution):
    root = make_solution({"main.py": "def predict(n: int):\n    return 10 // n\n"})
    software = DeploymentFactory(registry).create(_config(root))
    assert software.run('{"n": 5}') == {"status": "success", "output": 2}
    assert software.run("[1, 2]")["error"].startswith("inputs must be a JSON object")
    assert "not valid JSON" in software.run("{nope")["error"]
    error = software.run({"n": 0})
    assert error["status"] == "error" and "ZeroDivisionError" in error["error"]
    assert software.run({"n": 1})["output"] == 10


def test_runner_exception_never_leaks(registry, make_solution):
    software = DeploymentFactory(registry).create(_config(make_solution()))

    def explode(inputs):
        raise ConnectionResetError("peer went away")

    software.runner.run = explode
    assert software.run({"name": "x"}) == {
        "status": "error",
        "error": "ConnectionResetError: peer went away",
    }
    software.runner.run = lambda inputs: "not an envelope"
    assert "malformed" in software.run({"name": "x"})["error"]


def test_context_manager_stops(registry, make_solution):
    with DeploymentFactory(registry).create(_config(make_solution(), name="ctx")) as software:
        assert software.is_healthy()
    assert not software.is_healthy()
    assert software.status() == "stopped"


def test_failed_deploy_rolls_everything_back(registry, make_solution):
    root = make_solution()
    factory = DeploymentFactory(registry)
    with pytest.raises(DeployFailedError, match="broken on purpose"):
        factory.create(_config(root, strategy="echo", name="f1", options={"flavour": "fancy"}))
    assert factory.store.names() == []
    assert os.listdir(workspaces_dir()) == []
    # the name is free again
    assert factory.create(_config(root, strategy="echo", name="f1")).name == "f1"


def test_name_taken_unknown_and_unavailable_strategy(registry, make_solution):
    root = make_solution()
    factory = DeploymentFactory(registry)
    factory.create(_config(root, name="taken"))
    # a name that exists gets a new version (issue 15), not "name taken"
    assert factory.create(_config(root, name="taken")).version == 2
    assert factory.store.get("taken").version == 2
    with pytest.raises(StrategyNotFoundError) as info:
        factory.create(_config(root, strategy="nosuch"))
    assert "echo" in info.value.hint
    with pytest.raises(StrategyUnavailableError, match="no-such-xyz"):
        factory.create(_config(root, strategy="offline"))
    with pytest.raises(StrategyNotFoundError, match="not in the allowed list"):
        factory.create(_config(root, strategy="echo", allowed_strategies=["offline"]))
    with pytest.raises(OptionError, match="valid options: flavour, retries"):
        factory.create(_config(root, strategy="echo", options={"colour": "red"}))
    assert factory.store.names() == ["taken"]


def test_attach_with_broken_plugin_and_forced_removal(registry, plugins, make_solution):
    factory = DeploymentFactory(registry)
    factory.create(_config(make_solution(), name="orphan"))
    broken = DeploymentFactory(StrategyRegistry([]), factory.store)
    # the strategy is not enabled, but its runner class (recorded at deploy) still imports
    assert broken.attach("orphan").run({"name": "x"})["status"] == "success"
    info = factory.store.get("orphan")
    info.runner_class = "deployer_uninstalled_pkg.runner:EchoRunner"  # its package is gone
    factory.store.save(info)
    with pytest.raises(Exception, match="unknown strategy 'echo'"):
        broken.attach("orphan")
    with pytest.raises(StrategyNotFoundError):
        broken.remove("orphan")
    broken.remove("orphan", force=True)
    assert factory.store.names() == []


def test_deploy_convenience_passes_strategy_options(registry, make_solution):
    with pytest.raises(DeployFailedError):
        deployer.deploy(make_solution(), "echo", registry=registry, flavour="fancy")
    software = deployer.deploy(make_solution(), "echo", registry=registry, retries="3")
    assert software.info.options == {"flavour": "plain", "retries": 3}
    with pytest.raises(StrategyNotFoundError):
        deployer.deploy(make_solution(), "echo", registry=StrategyRegistry([]), name="zz")
    with pytest.raises(UsageError, match="name: .*deployment name 'Bad Name'"):
        deployer.deploy(make_solution(), "echo", registry=registry, name="Bad Name")


def test_stream_without_the_capability_yields_the_final_envelope(registry, make_solution):
    software = DeploymentFactory(registry).create(_config(make_solution()))
    assert list(software.stream({"name": "Ada"})) == [
        {"status": "success", "output": {"hi": "Ada"}}
    ]
    assert [e["status"] for e in software.stream("[1]")] == ["error"]


def test_stream_with_the_capability_passes_updates_through(plugins, home, make_solution):
    runner = RUNNER_WITH_STREAM
    ep = plugins.make("streamy", extra_config="capabilities: [stream]\n", runner=runner)
    software = DeploymentFactory(StrategyRegistry([ep])).create(_config(make_solution()))
    assert software.info.capabilities == ["stream"]
    updates = list(software.stream({"name": "Ada"}))
    assert updates == [
        {"status": "success", "output": {"partial": 1}},
        {"status": "success", "output": {"hi": "Ada"}},
    ]


def test_availability_hook_sees_the_options(plugins, home, make_solution):
    init = (
        "from deployer import Availability, StrategyPackage, hookimpl\n\n"
        "@hookimpl\ndef deployer_register_strategy():\n"
        "    return StrategyPackage(name='targets', package=__name__)\n\n"
        "@hookimpl\ndef deployer_check_availability(strategy, options):\n"
        "    if (options or {}).get('flavour') == 'fancy':\n"
        "        return None\n"
        "    return Availability(False, 'plain needs a cloud token', 'use flavour=fancy')\n"
    )
    registry = StrategyRegistry([plugins.make("targets", init=init)])
    assert not registry.availability("targets").available
    factory = DeploymentFactory(registry)
    with pytest.raises(StrategyUnavailableError, match="plain needs a cloud token"):
        factory.create(_config(make_solution(), strategy="targets"))
    assert factory.store.names() == []
    software = factory.create(
        _config(make_solution(), strategy="targets", options={"flavour": "fancy"})
    )
    assert software.info.provider == "test"


RUNNER_WITH_STREAM = """
from deployer.runtime.runner import Runner, success


class EchoRunner(Runner):
    def deploy(self):
        self.state["up"] = True

    def stop(self):
        self.state["up"] = False

    def run(self, inputs):
        return success({"hi": inputs["name"]})

    def stream(self, inputs):
        yield success({"partial": 1})
        yield self.run(inputs)

    def is_healthy(self):
        return self.state.get("up", False)
"""


def test_runner_reports_progress_through_the_factory(plugins, home, make_solution):
    runner = RUNNER_WITH_STREAM.replace(
        '        self.state["up"] = True',
        '        self.context.progress("building the thing")\n        self.state["up"] = True',
    )
    ep = plugins.make("chatty", runner=runner)
    steps: list[str] = []
    software = DeploymentFactory(StrategyRegistry([ep])).create(
        _config(make_solution()), progress=steps.append
    )
    assert "building the thing" in steps
    assert steps.index("building the thing") > steps.index(
        "deploying " + software.name + " with chatty"
    )
    assert "progress" not in software.runner.context.model_dump()
