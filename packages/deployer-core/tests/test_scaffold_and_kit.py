"""The scaffold writes a complete package; the pytest plugin enforces real components in CI;
the conformance kit's failures name the rule and the fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib

import pytest
from click.testing import CliRunner

from deployer.cli.main import main
from deployer.cli.scaffold import new_strategy
from deployer.errors import UsageError
from deployer.plugins.strategy_config import parse_strategy_config

pytest_plugins = ["pytester"]

# The inner sessions run in their own interpreter (runpytest_subprocess), never in this one:
# pytester restores sys.modules after a test, dropping what an in-process inner session
# imported. An inner session autoloads every installed plugin (pytest-randomly, which imports
# numpy, even where the outer run says -p no:randomly), and a numpy dropped from sys.modules
# cannot be imported again in the process ("cannot load module more than once per process"),
# which broke every later test importing numpy (ray.serve does) in the combined session.


def test_scaffold_writes_the_built_in_layout(tmp_path):
    root = new_strategy("my_cloud", tmp_path, summary="Run on my cloud.")
    assert root.name == "deployer-my-cloud"
    package = root / "src" / "deployer_my_cloud"
    for name in ("__init__.py", "config.yaml", "selector_instruction.md",
                 "adapter_instruction.md", "availability.py", "runner.py"):  # fmt: skip
        assert (package / name).is_file(), name
    assert (package / "templates" / "deployer_entry.json.tmpl").is_file()
    assert (root / "tests" / "test_my_cloud_conformance.py").is_file()
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "deployer-my-cloud"
    entry_points = pyproject["project"]["entry-points"]["deployer.strategies"]
    assert entry_points == {"my_cloud": "deployer_my_cloud"}
    config = parse_strategy_config((package / "config.yaml").read_text(), "config.yaml")
    assert config.name == "my_cloud" and config.runner == "deployer_my_cloud.runner:MyCloudRunner"
    assert config.summary == "Run on my cloud."
    template = json.loads((package / "templates" / "deployer_entry.json.tmpl").read_text())
    assert template == {
        "entrypoint": "$deployer_entrypoint",
        "calling_convention": "$deployer_calling_convention",
    }
    assert config.capabilities == ["logs", "stream"] and "class" in config.entry_kinds
    runner = (package / "runner.py").read_text()
    assert "install_serving_runtime" in runner and '"deployer_runtime", "serve"' in runner
    compile((package / "runner.py").read_text(), "runner.py", "exec")
    for module in ("__init__.py", "availability.py", "runner.py"):  # the same shape as ours
        source = (package / module).read_text()
        compile(source, module, "exec")
        imports = [line for line in source.splitlines() if line.startswith("from deployer")]
        assert imports and all(line.startswith("from deployer.plugin import") for line in imports)


def test_scaffold_refuses_bad_names_and_existing_directories(tmp_path):
    with pytest.raises(UsageError, match="must match"):
        new_strategy("My-Cloud", tmp_path)
    new_strategy("twice", tmp_path)
    with pytest.raises(UsageError, match="exists already"):
        new_strategy("twice", tmp_path)


def test_new_strategy_command(tmp_path):
    result = CliRunner().invoke(main, ["new-strategy", "cli_made", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "created" in result.output and (tmp_path / "deployer-cli-made").is_dir()
    again = CliRunner().invoke(main, ["new-strategy", "cli_made", str(tmp_path)])
    assert again.exit_code == 2 and "exists already" in again.output


REAL_TEST = """
import pytest

@pytest.mark.real
def test_needs_a_daemon():
    pytest.skip("no daemon here")

def test_plain_skip():
    pytest.skip("not relevant")
"""


def test_real_skips_fail_only_when_required(pytester, monkeypatch):
    pytester.makepyfile(REAL_TEST)
    monkeypatch.delenv("DEPLOYER_REQUIRE_REAL", raising=False)
    pytester.runpytest_subprocess().assert_outcomes(skipped=2)
    monkeypatch.setenv("DEPLOYER_REQUIRE_REAL", "1")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*a real component is missing*no daemon here*"])


KIT_AGAINST_MISSING = """
from deployer.testing import ConformanceSuite

class TestMissing(ConformanceSuite):
    strategy = "not_installed_anywhere"
"""


def test_kit_failures_name_the_rule_and_the_fix(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("DEPLOYER_HOME", str(tmp_path / "home"))
    pytester.makepyfile(KIT_AGAINST_MISSING)
    result = pytester.runpytest_subprocess()
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 5
    result.stdout.fnmatch_lines(
        [
            "*conformance rule 'entry point' broke: no entry point named 'not_installed_anywhere'*",
            "*how to fix:*deployer.strategies*",
        ]
    )


@pytest.mark.slow
def test_the_scaffolded_package_passes_its_own_tests(tmp_path):
    """Installed (pip, with its entry point) into a directory of its own and tested with its
    generated conformance test in a fresh process: the runner as generated deploys the
    reference solution through core's serving runtime and answers the round trip."""
    root = new_strategy("scaffolded_kit", tmp_path / "made")
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site),
         str(root)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if install.returncode != 0:
        pytest.skip(f"pip could not build the scaffolded package here: {install.stderr[-500:]}")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
        "DEPLOYER_HOME": str(tmp_path / "home"),
    }
    env.pop("DEPLOYER_STRATEGIES", None)
    tests = root / "tests"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "--rootdir",
         str(root), "-o", "addopts=", str(tests)],
        capture_output=True, text=True, timeout=900, check=False, cwd=root, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
    skips = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    # only the entry kinds it does not declare (until its tests have their packages)
    assert all("does not declare the entry kind" in line for line in skips), skips
