"""DeploymentPlan: one deploy resolves its strategy, options, availability and runner class
once; a strategy with several targets names one Runner class per target in config.yaml."""

from __future__ import annotations

import pytest

from deployer.deployment.factory import DeploymentFactory
from deployer.errors import OptionError, PluginError, StrategyUnavailableError
from deployer.models import DeployConfig, SolutionResult
from deployer.plugins.registry import StrategyRegistry
from deployer.plugins.strategy_config import parse_strategy_config

TARGETED = """\
api_version: 1
name: {name}
summary: Two targets, one class each.
provider: test
interface: function
runner:
  plain: "{package}.runner:EchoRunner"
  fancy: "{package}.runner:FancyRunner"
target_option: flavour
required_files: [deployer_entry.txt]
options:
  flavour:
    type: choice
    choices: [plain, fancy]
    default: plain
"""

FANCY = """
class FancyRunner(EchoRunner):
    def run(self, inputs):
        result = super().run(inputs)
        result["target"] = "fancy"
        return result
"""


class CountingRegistry(StrategyRegistry):
    """Counts how often one deploy looks its strategy up (the issue measured 6)."""

    lookups = 0

    def get_strategy(self, name: str):  # type: ignore[override]
        self.lookups += 1
        return super().get_strategy(name)


@pytest.fixture
def targeted(plugins, home, echo_runner_source):
    package_entry = plugins.make("two", config="placeholder")
    package = package_entry.value
    config = TARGETED.format(name="two", package=package)
    (plugins.root / package / "config.yaml").write_text(config, encoding="utf-8")
    runner = echo_runner_source + FANCY
    (plugins.root / package / "runner.py").write_text(runner, encoding="utf-8")
    return package_entry


def test_one_deploy_looks_its_strategy_up_once(targeted, make_solution):
    registry = CountingRegistry([targeted])
    factory = DeploymentFactory(registry)
    config = DeployConfig(solution=SolutionResult(code_path=make_solution()), strategy="two")
    software = factory.create(config)
    try:
        assert registry.lookups == 1
        assert software.run({"name": "Ada"})["output"] == {"hi": "Ada"}
    finally:
        software.remove()


def test_the_plan_holds_what_was_resolved(targeted, make_solution):
    factory = DeploymentFactory(StrategyRegistry([targeted]))
    config = DeployConfig(
        solution=SolutionResult(code_path=make_solution()),
        strategy="two",
        options={"flavour": "fancy"},
        name="planned",
    )
    plan = factory.plan(config)
    assert plan.name == "planned" and plan.strategy.name == "two"
    assert plan.options == {"flavour": "fancy"} and plan.availability.available
    assert plan.runner_class.__name__ == "FancyRunner"
    assert plan.source == config.solution.code_path
    assert not factory.store.list()  # planning makes nothing


def test_the_target_option_picks_the_runner_class_and_attach_keeps_it(targeted, make_solution):
    registry = StrategyRegistry([targeted])
    factory = DeploymentFactory(registry)
    solution = SolutionResult(code_path=make_solution())
    plain = factory.create(DeployConfig(solution=solution, strategy="two", name="p"))
    fancy = factory.create(
        DeployConfig(solution=solution, strategy="two", name="f", options={"flavour": "fancy"})
    )
    try:
        assert "target" not in plain.run({"name": "x"})
        assert fancy.run({"name": "x"})["target"] == "fancy"
        again = DeploymentFactory(StrategyRegistry([targeted])).attach("f")
        assert type(again.runner).__name__ == "FancyRunner"
    finally:
        plain.remove()
        fancy.remove()


def test_an_unavailable_strategy_is_refused_before_anything_is_made(plugins, home, make_solution):
    entry = plugins.make("absent", extra_config="requirements:\n  binaries: [no-such-binary-xyz]\n")
    factory = DeploymentFactory(StrategyRegistry([entry]))
    config = DeployConfig(solution=SolutionResult(code_path=make_solution()), strategy="absent")
    with pytest.raises(StrategyUnavailableError, match="no-such-binary-xyz"):
        factory.plan(config)
    with pytest.raises(OptionError, match="has no option 'nope'"):
        factory.plan(config.model_copy(update={"options": {"nope": 1}}))
    assert not factory.store.list()


@pytest.mark.parametrize(
    ("runner", "target_option", "problem"),
    [
        ('{"a": "x.y:A"}', "mode", "target_option must name a choice option"),
        ('{"a": "x.y:A"}', "flavour", "differ from the choices"),
        ('"x.y:A"', "flavour", "target_option needs runner to map"),
        ('{"plain": "not a path", "fancy": "x.y:B"}', "flavour", "must look like"),
    ],
)
def test_bad_target_maps_are_refused_with_the_key(runner, target_option, problem):
    text = (
        "api_version: 1\nname: t\nsummary: s\nprovider: p\ninterface: function\n"
        f"runner: {runner}\ntarget_option: {target_option}\n"
        "options:\n  flavour:\n    type: choice\n    choices: [plain, fancy]\n    default: plain\n"
    )
    with pytest.raises(PluginError, match=problem):
        parse_strategy_config(text, "t/config.yaml")


def test_runner_path_for_each_target():
    text = (
        "api_version: 1\nname: t\nsummary: s\nprovider: p\ninterface: function\n"
        'runner: {plain: "x.y:A", fancy: "x.y:B"}\ntarget_option: flavour\n'
        "options:\n  flavour:\n    type: choice\n    choices: [plain, fancy]\n    default: plain\n"
    )
    config = parse_strategy_config(text, "t/config.yaml")
    assert config.runner_path({}) == "x.y:A"
    assert config.runner_path({"flavour": "fancy"}) == "x.y:B"
    assert config.runner_paths() == ["x.y:A", "x.y:B"]
