"""Third-party plugins as pip installs them (real distributions with entry points): broken
ones are reported with their distribution and version, and every other strategy keeps working."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.cli.scaffold import new_strategy
from deployer.plugins.registry import StrategyRegistry, default_entry_points
from deployer.testing import DeployerCli
from e2e_support import CMDLINE_RUNNER, EXAMPLES, fake_distribution, scaffold_files

HOOK = """\
from deployer import StrategyPackage, hookimpl


@hookimpl
def {hook}():
    return StrategyPackage(name="{name}", package=__name__)
"""


def _scaffolded(tmp_path: Path, name: str, working: bool = True) -> dict[str, str]:
    files = scaffold_files(new_strategy(name, tmp_path / "scaffolds"))
    if working:
        class_name = "".join(part.capitalize() for part in name.split("_"))
        files["runner.py"] = CMDLINE_RUNNER.format(name=name, class_name=class_name)
    return files


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """One site directory holding a working third-party strategy and five broken ones."""
    site = tmp_path / "site"
    good = _scaffolded(tmp_path, "cmdline")
    fake_distribution(site, "deployer-cmdline", "deployer_cmdline", good, "cmdline")

    fake_distribution(
        site, "deployer-raising", "deployer_raising",
        {"__init__.py": "raise ImportError('missing SDK xyz')\n"}, "raising",
    )  # fmt: skip

    bad_config = _scaffolded(tmp_path, "badconfig")
    bad_config["config.yaml"] += "colour: blue\n"
    fake_distribution(site, "deployer-badconfig", "deployer_badconfig", bad_config, "badconfig")

    no_instruction = _scaffolded(tmp_path, "noinstr")
    del no_instruction["adapter_instruction.md"]
    fake_distribution(site, "deployer-noinstr", "deployer_noinstr", no_instruction, "noinstr")

    misspelled = _scaffolded(tmp_path, "typo")
    misspelled["__init__.py"] = HOOK.format(hook="deployer_register_strategie", name="typo")
    fake_distribution(site, "deployer-typo", "deployer_typo", misspelled, "typo")

    taken = _scaffolded(tmp_path, "local")
    taken["__init__.py"] = HOOK.format(hook="deployer_register_strategy", name="local")
    fake_distribution(site, "deployer-local-fork", "deployer_local_fork", taken, "local")
    return site


def test_installed_local_strategy_is_found_through_its_entry_point():
    assert "local" in {ep.name for ep in default_entry_points()}
    registry = StrategyRegistry()
    record = next(r for r in registry.records() if r.name == "local")
    assert (record.package, record.status, record.available) == ("deployer-local", "ok", True)
    strategy = registry.get_strategy("local")
    assert "deployer_runtime" in strategy.adapter_instruction
    assert (strategy.templates / "deployer_entry.json.tmpl").is_file()


def test_each_broken_plugin_is_reported_with_distribution_and_version(site: Path, tmp_path):
    cli = DeployerCli(tmp_path / "home", {"PYTHONPATH": str(site)})
    listing = cli("strategies", "--json")
    assert listing.code == 0, listing.err
    rows: dict[str, list[dict]] = {}
    for row in listing.json():
        rows.setdefault(row["name"], []).append(row)

    def only(name: str) -> dict:
        [row] = rows[name]
        assert row["version"] == "0.3.0" and row["package"] == f"deployer-{name}"
        assert row["available"] is False and row["hint"]
        return row

    assert only("raising")["status"] == "broken"
    assert "missing SDK xyz" in only("raising")["reason"]
    assert only("badconfig")["status"] == "invalid"
    assert "config.yaml: key 'colour': unknown key" in only("badconfig")["reason"]
    assert "adapter_instruction.md is missing" in only("noinstr")["reason"]
    assert "deployer_register_strategie" in only("typo")["reason"]
    local = {row["package"]: row for row in rows["local"]}
    assert set(local) == {"deployer-local", "deployer-local-fork"}
    assert all(row["status"] == "conflict" for row in local.values())
    assert "pip uninstall" in local["deployer-local-fork"]["hint"]
    assert rows["cmdline"][0]["status"] == "ok" and rows["cmdline"][0]["available"]

    table = cli("strategies")
    assert table.code == 0 and "deployer-raising 0.3.0" in table.out

    # the working third-party strategy keeps working through all of it
    deployed = cli("deploy", str(EXAMPLES / "hello"), "--strategy", "cmdline", "--json")
    assert deployed.code == 0, deployed.err
    name = deployed.json()["name"]
    result = cli("run", name, '{"name": "Ada"}')
    assert result.json() == {"status": "success", "output": {"message": "Hello, Ada!", "length": 3}}
    # the conflicted name is refused with the fix, and auto picks neither of its owners
    conflicted = cli("deploy", str(EXAMPLES / "hello"), "--strategy", "local")
    assert conflicted.code == 3 and "registered by 2 entry points" in conflicted.err
    chosen = cli("select", str(EXAMPLES / "hello"), "--json").json()
    assert chosen["strategy"] != "local"
    assert "local" not in {r["strategy"] for r in chosen["ranking"]}
    assert "cmdline" in {r["strategy"] for r in chosen["ranking"]}
