"""Plugins as pip installs them: real distributions with entry points, and real wheels."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from deployer.registry import StrategyRegistry, default_entry_points
from e2e_support import EXAMPLES, REPO, Cli


def _install_fake_distribution(site: Path, name: str, init: str) -> None:
    """A distribution as pip leaves it: a package plus a .dist-info with entry_points.txt."""
    package = site / f"deployer_{name}"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(init))
    info = site / f"deployer_{name}-0.3.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: deployer-{name}\nVersion: 0.3.0\n"
    )
    (info / "entry_points.txt").write_text(f"[deployer.strategies]\n{name} = deployer_{name}\n")


def test_installed_local_strategy_is_found_through_its_entry_point():
    assert "local" in {ep.name for ep in default_entry_points()}
    registry = StrategyRegistry()
    record = next(r for r in registry.records() if r.name == "local")
    assert (record.package, record.status, record.available) == ("deployer-local", "ok", True)
    strategy = registry.get_strategy("local")
    assert "deployer_server.py" in strategy.adapter_instruction
    assert (strategy.templates / "deployer_server.py.tmpl").is_file()


def test_broken_installed_plugin_is_reported_and_local_keeps_working(tmp_path: Path):
    site = tmp_path / "site"
    _install_fake_distribution(site, "broken", "raise ImportError('missing SDK xyz')\n")
    _install_fake_distribution(
        site,
        "halfdone",
        """
        from deployer import StrategyPackage, hookimpl

        @hookimpl
        def deployer_register_strategy():
            return StrategyPackage(name="halfdone", package=__name__)
        """,
    )
    cli = Cli(tmp_path / "home", {"PYTHONPATH": str(site)})
    rows = {row["name"]: row for row in cli("strategies", "--json").json()}
    assert rows["broken"]["status"] == "broken"
    assert "missing SDK xyz" in rows["broken"]["reason"]
    assert (rows["broken"]["package"], rows["broken"]["version"]) == ("deployer-broken", "0.3.0")
    assert rows["halfdone"]["status"] == "invalid"
    assert "config.yaml is missing" in rows["halfdone"]["reason"]
    assert rows["local"]["status"] == "ok"
    table = cli("strategies")
    assert table.code == 0 and "broken" in table.out
    deployed = cli("deploy", str(EXAMPLES / "hello"), "--option", "mode=inprocess", "--json")
    assert deployed.code == 0, deployed.err
    name = deployed.json()["name"]
    assert cli("run", name, '{"name": "Ada"}').json()["output"]["message"] == "Hello, Ada!"
    cli("rm", name)


@pytest.mark.slow
@pytest.mark.real
def test_wheels_install_alone_with_their_data(tmp_path: Path):
    """Core plus one strategy from wheels in a fresh venv: exactly that strategy, data readable."""
    dist = tmp_path / "dist"
    for package in ("deployer-core", "deployer-local"):
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist),
             str(REPO / "packages" / package)],
            check=True, capture_output=True,
        )  # fmt: skip
    wheels = sorted(p.name for p in dist.glob("*.whl"))
    assert [w.split("-")[0] for w in wheels] == ["deployer_core", "deployer_local"]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *map(str, dist.glob("*.whl"))],
        check=True, capture_output=True,
    )  # fmt: skip
    probe = textwrap.dedent(
        """
        import json
        from deployer.registry import StrategyRegistry
        registry = StrategyRegistry()
        strategy = registry.get_strategy("local")
        print(json.dumps({
            "names": [r.name for r in registry.records()],
            "template": (strategy.templates / "deployer_server.py.tmpl").read_text(),
            "instruction": strategy.selector_instruction[:40],
            "runner": registry.get_runner_class("local").__name__,
        }))
        """
    )
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    assert data["names"] == ["local"]
    assert "HTTP server for a deployer-local deployment" in data["template"]
    assert data["instruction"].startswith("# local")
    assert data["runner"] == "LocalRunner"
    listed = subprocess.run(
        [str(venv / "bin" / "deployer"), "strategies", "--json"], capture_output=True, text=True
    )
    assert [row["name"] for row in json.loads(listed.stdout)] == ["local"]
