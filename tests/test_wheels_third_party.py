"""Wheels in a fresh virtual environment: core plus exactly the strategies installed, and a
third-party strategy made with the scaffold that plugs in, works, and leaves when uninstalled.

These tests build real wheels and pip-install them (dependencies come from the package index).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from e2e_support import CMDLINE_RUNNER, EXAMPLES, REPO

pytestmark = [pytest.mark.slow, pytest.mark.real]


def _run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    if proc.returncode != 0 and kwargs.get("check", True):
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def _wheel(source: Path, dist: Path) -> Path:
    before = set(dist.glob("*.whl"))
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, source)
    [built] = set(dist.glob("*.whl")) - before
    return built


@dataclass
class Venv:
    root: Path
    home: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def deployer(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {"PATH": f"{self.root / 'bin'}:/usr/bin:/bin", "DEPLOYER_HOME": str(self.home)}
        return subprocess.run(
            [str(self.root / "bin" / "deployer"), *args],
            capture_output=True, text=True, env=env, input=stdin, timeout=300,
        )  # fmt: skip

    def pip(self, *args: str | Path) -> None:
        _run(self.python, "-m", "pip", "-q", *args)

    def names(self) -> list[str]:
        listing = self.deployer("strategies", "--json")
        assert listing.returncode == 0, listing.stderr
        return [row["name"] for row in json.loads(listing.stdout)]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venv]:
    root = tmp_path_factory.mktemp("wheels")
    dist = root / "dist"
    core = _wheel(REPO / "packages" / "deployer-core", dist)
    local = _wheel(REPO / "packages" / "deployer-local", dist)
    env = Venv(root / "venv", root / "home")
    _run(sys.executable, "-m", "venv", env.root)
    env.pip("install", core, local, "pytest")
    yield env
    listing = env.deployer("ls", "--json")
    if listing.returncode == 0:
        for row in json.loads(listing.stdout):
            env.deployer("rm", row["name"], "--force")


def test_core_and_local_wheels_alone_list_exactly_local_with_its_data(venv: Venv):
    assert venv.names() == ["local"]
    probe = textwrap.dedent(
        """
        import json
        from importlib import resources
        from deployer.plugins.registry import StrategyRegistry
        registry = StrategyRegistry()
        strategy = registry.get_strategy("local")
        print(json.dumps({
            "template": (strategy.templates / "deployer_entry.json.tmpl").read_text(),
            "runtime": sorted(
                p.name for p in (resources.files("deployer.runtime") / "serving").iterdir()
                if p.name.endswith(".py")
            ),
            "instruction": strategy.selector_instruction,
            "runner": registry.get_runner_class("local").__name__,
            "inprocess": registry.get_runner_class("local", {"mode": "inprocess"}).__name__,
        }))
        """
    )
    data = json.loads(_run(venv.python, "-c", probe).stdout)
    assert "$deployer_entrypoint" in data["template"]
    assert {"__main__.py", "server.py", "loader.py"} <= set(data["runtime"])  # in core's wheel
    assert data["instruction"].startswith("# local")
    assert (data["runner"], data["inprocess"]) == ("LocalProcessRunner", "LocalInProcessRunner")


def test_scaffold_installs_and_is_listed_as_it_is(venv: Venv, tmp_path: Path):
    made = venv.deployer("new-strategy", "fresh", str(tmp_path))
    assert made.returncode == 0, made.stderr
    package = tmp_path / "deployer-fresh"
    venv.pip("install", _wheel(package, tmp_path / "dist"))
    try:
        rows = {r["name"]: r for r in json.loads(venv.deployer("strategies", "--json").stdout)}
        assert rows["fresh"]["status"] == "ok" and rows["fresh"]["available"]
        assert rows["fresh"]["package"] == "deployer-fresh"
        # its conformance tests pass as generated, round trips included, also where CI
        # requires real components: the runner it generates serves through core's runtime
        tests = _run(
            venv.python, "-m", "pytest", "-q", package / "tests", cwd=package, check=False,
            env={"PATH": "/usr/bin:/bin", "DEPLOYER_REQUIRE_REAL": "1"},
        )  # fmt: skip
        assert tests.returncode == 0, tests.stdout + tests.stderr
        assert "passed" in tests.stdout and " failed" not in tests.stdout
        deploy = venv.deployer("deploy", str(EXAMPLES / "hello"), "--strategy", "fresh",
                               "--name", "fresh-hello")  # fmt: skip
        assert deploy.returncode == 0, deploy.stderr
        answer = json.loads(venv.deployer("run", "fresh-hello", '{"name": "Ada"}').stdout)
        assert answer["output"]["message"] == "Hello, Ada!"
        assert venv.deployer("rm", "fresh-hello").returncode == 0
    finally:
        venv.pip("uninstall", "-y", "deployer-fresh")
    assert venv.names() == ["local"]


def test_third_party_strategy_plugs_in_works_and_leaves(venv: Venv, tmp_path: Path):
    assert venv.deployer("new-strategy", "cmdline", str(tmp_path)).returncode == 0
    package = tmp_path / "deployer-cmdline"
    runner = package / "src" / "deployer_cmdline" / "runner.py"
    runner.write_text(CMDLINE_RUNNER.format(name="cmdline", class_name="Cmdline"))
    config = package / "src" / "deployer_cmdline" / "config.yaml"  # it calls functions only
    text = config.read_text().replace("capabilities: [logs, stream]", "capabilities: [logs]")
    config.write_text(text.replace("entry_kinds: [function, class]", "entry_kinds: [function]"))
    test_file = package / "tests" / "test_cmdline_conformance.py"
    text = test_file.read_text().replace("round_trip_options = None", "round_trip_options = {}")
    test_file.write_text(text)
    venv.pip("install", _wheel(package, tmp_path / "dist"))
    try:
        _plugs_in_and_works(venv, package)
    finally:
        venv.pip("uninstall", "-y", "deployer-cmdline")
    assert venv.names() == ["local"]
    gone = venv.deployer("deploy", str(EXAMPLES / "hello"), "--strategy", "cmdline")
    assert gone.returncode == 2 and "unknown strategy 'cmdline'" in gone.stderr


def _plugs_in_and_works(venv: Venv, package: Path) -> None:
    assert venv.names() == ["cmdline", "local"]
    select = venv.deployer("select", str(EXAMPLES / "hello"), "--goal", "cmdline", "--json")
    assert json.loads(select.stdout)["strategy"] == "cmdline"
    deploy = venv.deployer("deploy", str(EXAMPLES / "hello"), "--goal", "cmdline", "--json")
    assert deploy.returncode == 0, deploy.stderr
    info = json.loads(deploy.stdout)
    assert info["strategy"] == "cmdline"
    result = venv.deployer("run", info["name"], '{"name": "Grace"}')
    assert json.loads(result.stdout)["output"]["message"] == "Hello, Grace!"
    # the whole conformance kit, round trip included, passes against the installed package
    tests = _run(venv.python, "-m", "pytest", "-q", "-rA", package / "tests", cwd=package,
                 check=False)  # fmt: skip
    assert tests.returncode == 0, tests.stdout
    assert "PASSED" in tests.stdout and "test_round_trip_returns_the_right_answer" in tests.stdout

    assert venv.deployer("rm", info["name"]).returncode == 0
