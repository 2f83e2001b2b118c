"""Fixtures for core tests: a private DEPLOYER_HOME and throwaway strategy plugins on disk.

The plugins written here are real Python packages imported through real entry points; only
their runner is small (it calls the entry point in-process), so the whole pipeline runs for
real without needing any platform.
"""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

GOOD_CONFIG = """\
api_version: 1
name: {name}
summary: Test strategy {name}.
provider: test
interface: function
runner: "{package}.runner:EchoRunner"
required_files: [deployer_entry.txt]
options:
  flavour:
    type: choice
    choices: [plain, fancy]
    default: plain
  retries:
    type: integer
    default: 1
signals:
  baseline: {baseline}
  dependencies: {{{name}-lib: 2}}
  goal_words: {{{name}: 3}}
{extra}
"""

RUNNER = '''\
"""A tiny real runner: imports the entry point from the workspace and calls it."""
import importlib.util
import sys

from deployer.errors import DeployFailedError
from deployer.runtime.runner import Runner, failure, success


class EchoRunner(Runner):
    def _function(self):
        module, _, name = self.context.run_interface.entrypoint.partition(":")
        path = self.context.adapted_path / (module.replace(".", "/") + ".py")
        spec = importlib.util.spec_from_file_location(f"_t_{{self.context.name}}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return getattr(mod, name)

    def deploy(self):
        if self.context.options.get("flavour") == "fancy" and {fail_fancy}:
            raise DeployFailedError("fancy flavour is broken on purpose")
        self.state["started"] = True
        self.state["starts"] = self.state.get("starts", 0) + 1

    def stop(self):
        self.state["started"] = False

    def run(self, inputs):
        if not self.state.get("started"):
            return failure("not running")
        try:
            fn = self._function()
            if self.context.run_interface.calling_convention == "dict":
                return success(fn(inputs))
            return success(fn(**inputs))
        except Exception as exc:
            return failure(f"{{type(exc).__name__}}: {{exc}}")

    def is_healthy(self):
        return bool(self.state.get("started"))

    def logs(self, tail=None):
        return "env keys: " + ",".join(sorted(self.context.env)) + "\\n"
'''


class PluginFactory:
    """Writes strategy packages into a temporary directory on sys.path."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def make(
        self,
        name: str,
        *,
        config: str | None = None,
        init: str | None = None,
        runner: str | None = None,
        files: dict[str, str] | None = None,
        skip: tuple[str, ...] = (),
        baseline: float = 1.0,
        extra_config: str = "",
        fail_fancy: bool = False,
    ) -> EntryPoint:
        package = f"deployer_{name}_{uuid.uuid4().hex[:6]}"
        pkg = self.root / package
        (pkg / "templates").mkdir(parents=True)
        contents = {
            "__init__.py": init
            or textwrap.dedent(
                f"""\
                from deployer import StrategyPackage, hookimpl

                @hookimpl
                def deployer_register_strategy():
                    return StrategyPackage(name={name!r}, package=__name__)
                """
            ),
            "config.yaml": config
            if config is not None
            else GOOD_CONFIG.format(
                name=name, package=package, baseline=baseline, extra=extra_config
            ),
            "selector_instruction.md": f"Choose {name} for tests.\n",
            "adapter_instruction.md": f"Adapt for {name}.\n",
            "runner.py": runner or RUNNER.format(fail_fancy=fail_fancy),
            "templates/deployer_entry.txt.tmpl": "entry=$deployer_entrypoint "
            "convention=$deployer_calling_convention flavour=$deployer_option_flavour "
            "$HOME $DEPLOYER_PORT\n",
        }
        contents.update(files or {})
        for relative, text in contents.items():
            if relative in skip:
                continue
            path = pkg / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return EntryPoint(name=name, value=package, group="deployer.strategies")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("DEPLOYER_HOME", str(path))
    monkeypatch.delenv("DEPLOYER_STRATEGIES", raising=False)
    monkeypatch.delenv("DEPLOYER_STRICT_PLUGINS", raising=False)
    return path


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginFactory]:
    root = tmp_path / "plugins"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    before = set(sys.modules)
    yield PluginFactory(root)
    for module in set(sys.modules) - before:
        if module.startswith("deployer_") and "_" in module[9:]:
            sys.modules.pop(module, None)


@pytest.fixture
def make_solution(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1000))

    def make(files: dict[str, str] | None = None, name: str | None = None) -> Path:
        root = tmp_path / (name or f"solution{next(counter)}")
        default = {"main.py": "def predict(name: str) -> dict:\n    return {'hi': name}\n"}
        for relative, text in (files if files is not None else default).items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        root.mkdir(parents=True, exist_ok=True)
        return root

    return make


@pytest.fixture
def echo_runner_source() -> str:
    """The source of the tiny EchoRunner the test plugins use, for tests that extend it."""
    return RUNNER.format(fail_fancy=False)
