"""StrategyRegistry: discovery, fault isolation, conflicts, laziness and availability."""

from __future__ import annotations

import sys
from importlib.metadata import EntryPoint

import pytest

from deployer.errors import PluginError, StrategyNotFoundError
from deployer.plugins.registry import StrategyRegistry


def test_lists_valid_plugin_with_instructions(plugins, home):
    registry = StrategyRegistry([plugins.make("alpha")])
    [record] = registry.records()
    assert (record.name, record.status, record.available) == ("alpha", "ok", True)
    strategy = registry.get_strategy("alpha")
    assert strategy.config.provider == "test"
    assert strategy.selector_instruction.startswith("Choose alpha")
    assert strategy.adapter_instruction.startswith("Adapt for alpha")
    assert (strategy.templates / "deployer_entry.txt.tmpl").is_file()


def test_broken_import_is_reported_and_others_keep_working(plugins, home):
    good = plugins.make("good")
    bad = plugins.make("bad", init="raise RuntimeError('boom at import')\n")
    registry = StrategyRegistry([bad, good])
    records = {r.name: r for r in registry.records()}
    assert records["bad"].status == "broken"
    assert "RuntimeError: boom at import" in records["bad"].reason
    assert records["good"].status == "ok"
    assert [s.name for s in registry.list_strategies()] == ["good"]
    with pytest.raises(PluginError, match="boom at import"):
        registry.get_strategy("bad")


def test_entry_point_to_missing_module_is_broken(home):
    ep = EntryPoint(name="ghost", value="deployer_no_such_module_xyz", group="deployer.strategies")
    [record] = StrategyRegistry([ep]).records()
    assert record.status == "broken"
    assert "ModuleNotFoundError" in record.reason


def test_invalid_config_names_file_and_key(plugins, home):
    ep = plugins.make("typo", extra_config="colour: blue\n")
    [record] = StrategyRegistry([ep]).records()
    assert record.status == "invalid"
    assert "config.yaml" in record.reason and "'colour'" in record.reason
    assert "unknown key" in record.reason


def test_wrong_type_in_config_is_invalid(plugins, home):
    config = "api_version: 1\nname: wt\nsummary: s\nprovider: p\ninterface: i\nrunner: 'a.b:C'\n"
    ep = plugins.make("wt", config=config + "capabilities: yes\n")
    [record] = StrategyRegistry([ep]).records()
    assert record.status == "invalid" and "'capabilities'" in record.reason


def test_unparseable_yaml_is_invalid(plugins, home):
    ep = plugins.make("yamlbad", config="name: [unclosed\n")
    [record] = StrategyRegistry([ep]).records()
    assert record.status == "invalid" and "not valid YAML" in record.reason


def test_newer_api_version_asks_for_upgrade(plugins, home):
    config = "api_version: 99\nname: future\n"
    [record] = StrategyRegistry([plugins.make("future", config=config)]).records()
    assert record.status == "invalid" and "api_version 99" in record.reason
    assert "pip install -U deployer-core" in record.hint


@pytest.mark.parametrize("missing", ["selector_instruction.md", "adapter_instruction.md"])
def test_missing_instruction_file_is_invalid(plugins, home, missing):
    [record] = StrategyRegistry([plugins.make("noinst", skip=(missing,))]).records()
    assert record.status == "invalid" and f"{missing} is missing" in record.reason


def test_misspelled_hook_is_an_error_not_silence(plugins, home):
    init = (
        "from deployer import StrategyPackage, hookimpl\n\n"
        "@hookimpl\ndef deployer_register_strategie():\n"
        "    return StrategyPackage(name='miss', package=__name__)\n"
    )
    good = plugins.make("fine")
    registry = StrategyRegistry([plugins.make("miss", init=init), good])
    records = {r.name: r for r in registry.records()}
    assert records["miss"].status == "invalid"
    assert "deployer_register_strategie" in records["miss"].reason
    assert records["fine"].status == "ok"


def test_name_mismatch_is_invalid(plugins, home):
    ep = plugins.make("one")
    renamed = EntryPoint(name="two", value=ep.value, group=ep.group)
    [record] = StrategyRegistry([renamed]).records()
    assert record.status == "invalid" and "name mismatch" in record.reason


def test_two_plugins_with_one_name_are_both_conflicts(plugins, home):
    first, second = plugins.make("dup"), plugins.make("dup")
    registry = StrategyRegistry([first, second])
    records = registry.records()
    assert [r.status for r in records] == ["conflict", "conflict"]
    assert "pip uninstall" in records[0].hint
    with pytest.raises(PluginError, match="registered by 2 entry points"):
        registry.get_strategy("dup")
    assert registry.list_strategies() == []


def test_strict_mode_reraises(plugins, home, monkeypatch):
    monkeypatch.setenv("DEPLOYER_STRICT_PLUGINS", "1")
    bad = plugins.make("strictbad", init="raise RuntimeError('strict boom')\n")
    with pytest.raises(PluginError, match="strict boom"):
        StrategyRegistry([bad]).records()


def test_env_var_limits_which_plugins_load(plugins, home, monkeypatch):
    a, b = plugins.make("aa"), plugins.make("bb", init="raise RuntimeError('must not load')\n")
    monkeypatch.setenv("DEPLOYER_STRATEGIES", "aa")
    registry = StrategyRegistry([a, b])
    assert [r.name for r in registry.records()] == ["aa"]
    assert b.value not in sys.modules


def test_get_strategy_loads_only_that_plugin(plugins, home):
    a = plugins.make("lazya")
    b = plugins.make("lazyb", init="raise RuntimeError('should stay unloaded')\n")
    registry = StrategyRegistry([a, b])
    assert registry.get_strategy("lazya").name == "lazya"
    assert b.value not in sys.modules


def test_unknown_strategy_lists_installed_ones(plugins, home):
    registry = StrategyRegistry([plugins.make("known")])
    with pytest.raises(StrategyNotFoundError) as info:
        registry.get_strategy("unknown")
    assert "known" in info.value.hint


def test_allowed_list_with_unknown_name_is_an_error(plugins, home):
    registry = StrategyRegistry([plugins.make("one")])
    with pytest.raises(StrategyNotFoundError, match="'nope'"):
        registry.list_strategies(["nope"])
    assert [s.name for s in registry.list_strategies(["one"])] == ["one"]


def test_runner_module_is_imported_only_when_asked(plugins, home):
    ep = plugins.make("lazyrun")
    registry = StrategyRegistry([ep])
    registry.records()
    registry.availability("lazyrun")
    assert f"{ep.value}.runner" not in sys.modules
    runner_class = registry.get_runner_class("lazyrun")
    assert runner_class.__name__ == "EchoRunner"
    assert f"{ep.value}.runner" in sys.modules


def test_runner_that_does_not_import_is_a_plugin_error(plugins, home):
    ep = plugins.make("badrunner", runner="import deployer_no_such_sdk_xyz\n")
    registry = StrategyRegistry([ep])
    with pytest.raises(PluginError, match="cannot import runner"):
        registry.get_runner_class("badrunner")


def test_runner_that_is_not_a_runner_subclass(plugins, home):
    ep = plugins.make("notrunner", runner="class EchoRunner:\n    pass\n")
    with pytest.raises(PluginError, match="not a deployer.Runner subclass"):
        StrategyRegistry([ep]).get_runner_class("notrunner")


def test_missing_binary_makes_strategy_unavailable(plugins, home):
    ep = plugins.make("needsbin", extra_config="requirements:\n  binaries: [no-such-binary-xyz]\n")
    registry = StrategyRegistry([ep])
    availability = registry.availability("needsbin")
    assert not availability.available and "no-such-binary-xyz" in availability.reason
    assert registry.records()[0].available is False


def test_missing_env_and_module_requirements(plugins, home, monkeypatch):
    monkeypatch.delenv("DEPLOYER_TEST_TOKEN", raising=False)
    env_ep = plugins.make(
        "needsenv", extra_config="requirements:\n  env_all: [DEPLOYER_TEST_TOKEN]"
    )
    mod_ep = plugins.make(
        "needsmod", extra_config="requirements:\n  python_modules: [nosuchmodxyz]"
    )
    registry = StrategyRegistry([env_ep, mod_ep])
    assert "DEPLOYER_TEST_TOKEN" in registry.availability("needsenv").reason
    assert "nosuchmodxyz" in registry.availability("needsmod").reason
    monkeypatch.setenv("DEPLOYER_TEST_TOKEN", "x")
    assert StrategyRegistry([env_ep]).availability("needsenv").available


def test_availability_hook_can_say_no_and_never_raises(plugins, home):
    base = (
        "from deployer import Availability, StrategyPackage, hookimpl\n\n"
        "@hookimpl\ndef deployer_register_strategy():\n"
        "    return StrategyPackage(name={name!r}, package=__name__)\n\n"
        "@hookimpl\ndef deployer_check_availability(strategy):\n"
    )
    no = plugins.make("hookno", init=base.format(name="hookno") + "    return Availability("
                      "False, 'daemon not answering', 'start it')\n")  # fmt: skip
    boom = plugins.make("hookboom", init=base.format(name="hookboom") + "    raise OSError('x')\n")
    registry = StrategyRegistry([no, boom])
    assert registry.availability("hookno").reason == "daemon not answering"
    result = registry.availability("hookboom")
    assert not result.available and "OSError" in result.reason
    assert not registry.availability("not-installed").available


def test_coding_agents_are_collected(plugins, home):
    init = (
        "from deployer import CodingAgentSpec, StrategyPackage, hookimpl\n\n"
        "@hookimpl\ndef deployer_register_strategy():\n"
        "    return StrategyPackage(name='agents', package=__name__)\n\n"
        "@hookimpl\ndef deployer_register_coding_agents():\n"
        "    return [CodingAgentSpec(name='echo-agent', factory='x.y:Z')]\n"
    )
    registry = StrategyRegistry([plugins.make("agents", init=init), plugins.make("noagents")])
    assert [a.name for a in registry.coding_agents()] == ["echo-agent"]


def test_hook_tracing_goes_to_stderr(plugins, home, monkeypatch, capsys):
    monkeypatch.setenv("DEPLOYER_TRACE_HOOKS", "1")
    StrategyRegistry([plugins.make("traced")]).records()
    err = capsys.readouterr().err
    assert "[deployer hook] deployer_register_strategy" in err


def test_each_plugin_is_loaded_once_even_in_strict_mode(plugins, home, monkeypatch):
    monkeypatch.setenv("DEPLOYER_STRICT_PLUGINS", "1")
    registry = StrategyRegistry([plugins.make("once")])
    [record] = registry.records()
    assert (record.status, record.available) == ("ok", True)
    assert registry.availability("once").reason == ""
    assert len(registry.plugin_manager.get_plugins()) == 1
