"""Models validate user input; StrategyConfig is strict and its errors name file and key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from deployer.errors import OptionError, PluginError
from deployer.models import DeployConfig, DeploymentInfo, RunInterface, SolutionResult
from deployer.plugins.strategy_config import OptionSpec, parse_strategy_config

MINIMAL = "api_version: 1\nname: demo\nsummary: s\nprovider: p\ninterface: function\n"
MINIMAL += "runner: 'pkg.runner:DemoRunner'\n"


def test_solution_path_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert SolutionResult(code_path="sub").code_path == tmp_path / "sub"


@pytest.mark.parametrize("entrypoint", ["main", "main:", ":f", "a b:c", "main:f:g"])
def test_bad_entrypoint_shape_is_rejected(tmp_path, entrypoint):
    with pytest.raises(ValidationError, match="module:function"):
        DeployConfig(solution=SolutionResult(code_path=tmp_path), entrypoint=entrypoint)


@pytest.mark.parametrize("name", ["Has Space", "UPPER", "-lead", "x" * 64])
def test_bad_deployment_name_is_rejected(tmp_path, name):
    with pytest.raises(ValidationError, match="deployment name"):
        DeployConfig(solution=SolutionResult(code_path=tmp_path), name=name)


def test_models_round_trip_through_json(tmp_path):
    info = DeploymentInfo(
        name="n1",
        strategy="local",
        source_path=tmp_path,
        adapted_path=tmp_path / "ws",
        run_interface=RunInterface(entrypoint="main:predict", calling_convention="dict"),
        env_keys=["API_KEY"],
    )
    again = DeploymentInfo.model_validate_json(info.model_dump_json())
    assert again == info


def test_minimal_strategy_config_parses():
    config = parse_strategy_config(MINIMAL, "demo/config.yaml")
    assert config.name == "demo" and config.signals.baseline == 0


def test_unknown_nested_key_names_the_path():
    text = MINIMAL + "signals:\n  dependancies: {x: 1}\n"
    with pytest.raises(PluginError, match=r"demo/config.yaml: key 'signals.dependancies'"):
        parse_strategy_config(text, "demo/config.yaml")


def test_wrong_type_names_the_key():
    with pytest.raises(PluginError, match=r"key 'api_version'"):
        parse_strategy_config(MINIMAL.replace("api_version: 1", "api_version: one"), "c.yaml")


def test_bad_strategy_name_and_runner_path():
    with pytest.raises(PluginError, match="'name'"):
        parse_strategy_config(MINIMAL.replace("name: demo", "name: Demo-X"), "c.yaml")
    with pytest.raises(PluginError, match="'runner'"):
        parse_strategy_config(MINIMAL.replace("pkg.runner:DemoRunner", "nocolon"), "c.yaml")


def test_non_mapping_config():
    with pytest.raises(PluginError, match="expected a mapping"):
        parse_strategy_config("- a\n- b\n", "c.yaml")


def test_options_are_coerced_and_defaulted():
    text = MINIMAL + (
        "options:\n"
        "  mode: {type: choice, choices: [a, b], default: a}\n"
        "  port: {type: integer, default: 0}\n"
        "  debug: {type: boolean, default: false}\n"
        "  ratio: {type: number, default: 0.5}\n"
    )
    config = parse_strategy_config(text, "c.yaml")
    resolved = config.resolve_options({"mode": "b", "port": "8080", "debug": "yes"})
    assert resolved == {"mode": "b", "port": 8080, "debug": True, "ratio": 0.5}


def test_unknown_option_lists_valid_ones():
    config = parse_strategy_config(MINIMAL + "options:\n  mode: {type: string}\n", "c.yaml")
    with pytest.raises(OptionError) as info:
        config.resolve_options({"mdoe": "x"})
    assert "'mdoe'" in info.value.message and "mode" in info.value.hint


@pytest.mark.parametrize(
    ("spec", "value", "message"),
    [
        (OptionSpec(type="choice", choices=["a", "b"]), "c", "expected one of a, b"),
        (OptionSpec(type="integer"), "eight", "bad value 'eight'"),
        (OptionSpec(type="boolean"), "maybe", "expected true or false"),
        (OptionSpec(type="number"), "fast", "bad value 'fast'"),
    ],
)
def test_bad_option_values(spec, value, message):
    with pytest.raises(OptionError, match=message):
        spec.coerce("key", value)
