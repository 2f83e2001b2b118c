"""The conformance kit: rules every strategy package is tested against (see `deployer.testing`).

pytest runs every rule below against the *installed* package (found through its entry
point, as users get it). A failure names the rule that broke and how to fix it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from deployer.errors import DeployerError
from deployer.plugins.hookspecs import Availability
from deployer.plugins.registry import Strategy, StrategyRegistry, default_entry_points

HEAVY_MODULES = ("docker", "modal", "bentoml", "langgraph", "langgraph_sdk", "litellm", "torch")

REFERENCE_SOLUTION = {
    "main.py": (
        '"""The conformance kit\'s reference solution: a pure function."""\n\n\n'
        "def predict(text: str, repeat: int = 1) -> dict:\n"
        '    return {"echo": text * repeat, "length": len(text) * repeat}\n'
    ),
    "README.md": "# reference\n\nEchoes text back: the deployer conformance kit's solution.\n",
}
REFERENCE_INPUT = {"text": "conformance", "repeat": 2}
REFERENCE_OUTPUT = {"echo": "conformanceconformance", "length": 22}
# For strategies that declare `stream`: a generator entry point, items checked in order.
STREAM_SOLUTION = {
    "main.py": (
        '"""The conformance kit\'s streaming solution: a generator."""\n\n\n'
        "def predict(text: str):\n"
        "    for word in text.split():\n"
        '        yield {"word": word}\n'
    ),
}
STREAM_INPUT = {"text": "one two three"}
STREAM_ITEMS = [{"word": "one"}, {"word": "two"}, {"word": "three"}]


def tree_hash(root: Path) -> str:
    """A hash of every path, file mode and byte under root: proof that nothing was written."""
    digest = hashlib.sha256()
    for path in sorted(Path(root).rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(str(path.lstat().st_mode).encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def write_reference_solution(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in REFERENCE_SOLUTION.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def broke(rule: str, problem: str, fix: str) -> None:
    """Fail the current test naming the conformance rule and the fix."""
    pytest.fail(f"conformance rule '{rule}' broke: {problem}\n  how to fix: {fix}", pytrace=False)


# -- entry kinds: one round trip per kind the strategy declares (config.yaml entry_kinds) ------
#
# A separate, additive block: each kind that is not a plain function gets a small solution
# written the way its ecosystem writes it, deployed with the strategy's round-trip options and
# called once. A kind's solution names the package it imports; where that package is not
# installed here the round trip is skipped as a missing real component.


@dataclasses.dataclass(frozen=True)
class KindSolution:
    """A solution of one entry kind, the input to send it and the answer it must give."""

    files: dict[str, str]
    inputs: dict[str, Any]
    output: Any
    needs: str | None = None  # the module its code imports (also its requirements.txt)


KIND_SOLUTIONS: dict[str, KindSolution] = {
    "class": KindSolution(
        {
            "handler.py": (
                "class Handler:\n"
                "    def load(self):\n"
                '        self.prefix = "loaded:"\n\n'
                "    def predict(self, text: str) -> str:\n"
                "        return self.prefix + text\n"
            )
        },
        {"text": "hi"},
        "loaded:hi",
    ),
    "graph": KindSolution(
        {
            "agent.py": (
                "from typing import TypedDict\n\n"
                "from langgraph.graph import END, START, StateGraph\n\n\n"
                "class State(TypedDict, total=False):\n"
                "    text: str\n"
                "    upper: str\n\n\n"
                "def shout(state: State) -> State:\n"
                '    return {"upper": state["text"].upper()}\n\n\n'
                "builder = StateGraph(State)\n"
                'builder.add_node("shout", shout)\n'
                'builder.add_edge(START, "shout")\n'
                'builder.add_edge("shout", END)\n'
                "graph = builder.compile()\n"
            ),
            "langgraph.json": (
                '{"dependencies": ["."], "graphs": {"agent": "./agent.py:graph"}}\n'
            ),
            "requirements.txt": "langgraph\n",
        },
        {"text": "hi"},
        {"text": "hi", "upper": "HI"},
        needs="langgraph",
    ),
    "asgi": KindSolution(
        {
            "main.py": (
                "from fastapi import FastAPI\n"
                "from pydantic import BaseModel\n\n"
                "app = FastAPI()\n\n\n"
                "class Item(BaseModel):\n"
                "    text: str\n\n\n"
                '@app.post("/shout")\n'
                "def shout(item: Item) -> dict:\n"
                '    return {"upper": item.text.upper()}\n'
            ),
            "requirements.txt": "fastapi\n",
        },
        {"text": "hi"},
        {"upper": "HI"},
        needs="fastapi",
    ),
    "wsgi": KindSolution(
        {
            "app.py": (
                "from flask import Flask, jsonify, request\n\n"
                "app = Flask(__name__)\n\n\n"
                '@app.post("/shout")\n'
                "def shout():\n"
                '    return jsonify(upper=request.get_json()["text"].upper())\n'
            ),
            "requirements.txt": "flask\n",
        },
        {"text": "hi"},
        {"upper": "HI"},
        needs="flask",
    ),
    "gradio": KindSolution(
        {
            "app.py": (
                "import gradio as gr\n\n\n"
                "def shout(text: str) -> str:\n"
                "    return text.upper()\n\n\n"
                'demo = gr.Interface(fn=shout, inputs="text", outputs="text")\n'
            ),
            "requirements.txt": "gradio\n",
        },
        {"text": "hi"},
        "HI",
        needs="gradio",
    ),
    "serve_app": KindSolution(
        {
            "shouter.py": (
                "from ray import serve\n"
                "from starlette.requests import Request\n\n\n"
                "@serve.deployment\n"
                "class Shouter:\n"
                "    async def __call__(self, request: Request) -> dict:\n"
                "        body = await request.json()\n"
                '        return {"upper": body["text"].upper()}\n\n\n'
                "app = Shouter.bind()\n"
            ),
            "requirements.txt": "ray[serve]\n",
        },
        {"text": "hi"},
        {"upper": "HI"},
        needs="ray",
    ),
    "modal_function": KindSolution(
        {
            "app.py": (
                "import modal\n\n"
                'app = modal.App("conformance-kind")\n\n\n'
                "@app.function()\n"
                "def shout(text: str) -> str:\n"
                "    return text.upper()\n"
            ),
            "requirements.txt": "modal\n",
        },
        {"text": "hi"},
        "HI",
        needs="modal",
    ),
}


class EntryKindRoundTrips:
    """Mixed into ConformanceSuite: a deploy and a call for each declared non-function kind.

    A strategy package that must leave a kind out of its CI run lists it in
    `skip_entry_kinds` (with the reason in its test file); declaring less in config.yaml is
    the honest alternative.
    """

    strategy: ClassVar[str]
    round_trip_options: ClassVar[dict[str, Any] | None]
    startup_timeout: ClassVar[float]
    skip_entry_kinds: ClassVar[tuple[str, ...]] = ()

    @pytest.mark.parametrize("kind", sorted(KIND_SOLUTIONS))
    def test_round_trip_of_each_declared_entry_kind(
        self,
        kind: str,
        registry: StrategyRegistry,
        tmp_path: Path,
        request: pytest.FixtureRequest,
    ) -> None:
        from deployer.deployment.factory import DeploymentFactory
        from deployer.models import DeployConfig, SolutionResult
        from deployer.modules import module_installed

        if self.round_trip_options is None:
            pytest.skip(f"{self.strategy} declares it cannot run on this machine")
        config = registry.get_strategy(self.strategy).config
        declared = config.entry_kinds_for(config.resolve_options(self.round_trip_options))
        if kind not in declared:
            pytest.skip(f"{self.strategy} does not declare the entry kind {kind}")
        if kind in self.skip_entry_kinds:
            pytest.skip(f"{self.strategy} leaves the entry kind {kind} out of its kit run")
        solution = KIND_SOLUTIONS[kind]
        missing = solution.needs and not module_installed(solution.needs)
        availability = registry.availability(self.strategy, self.round_trip_options)
        if missing or not availability.available:
            request.applymarker(pytest.mark.real)
            why = f"{solution.needs} is not installed" if missing else availability.reason
            pytest.skip(f"the {kind} round trip on {self.strategy} cannot run here: {why}")
        source = tmp_path / f"kind-{kind}"
        for relative, text in solution.files.items():
            (source / relative).parent.mkdir(parents=True, exist_ok=True)
            (source / relative).write_text(text, encoding="utf-8")
        deploy = DeployConfig(
            solution=SolutionResult(code_path=source),
            strategy=self.strategy,
            options=self.round_trip_options,
            name=f"kind-{kind.replace('_', '-')}",
            startup_timeout=self.startup_timeout,
        )
        try:
            software = DeploymentFactory(registry).create(deploy)
        except DeployerError as exc:
            broke(
                f"entry kind {kind}: deploy",
                exc.message,
                exc.hint or f"load {kind} entry points (or leave {kind} out of entry_kinds)",
            )
        try:
            result = software.run(solution.inputs)
            if result != {"status": "success", "output": solution.output}:
                broke(
                    f"entry kind {kind}: run",
                    f"{solution.inputs} gave {result}, not {solution.output!r}",
                    "load the entry point through core's serving runtime "
                    "(install_entry_loader + deployer_runtime.embedded)",
                )
        finally:
            software.remove()


class ConformanceSuite(EntryKindRoundTrips):
    """The rules every deployer strategy package must satisfy. Subclass and set `strategy`."""

    strategy: ClassVar[str] = ""
    #: Options for the deploy/run/stop round trip, or None when the strategy cannot run on
    #: the test machine (a cloud-only target). The round trip uses the reference solution.
    round_trip_options: ClassVar[dict[str, Any] | None] = {}
    #: Seconds the round trip may take to become healthy (installs, image builds).
    startup_timeout: ClassVar[float] = 600.0

    @pytest.fixture(autouse=True)
    def _isolated_home(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DEPLOYER_HOME", str(tmp_path / "deployer-home"))
        monkeypatch.delenv("DEPLOYER_STRATEGIES", raising=False)
        monkeypatch.delenv("DEPLOYER_STRICT_PLUGINS", raising=False)

    @pytest.fixture
    def registry(self) -> StrategyRegistry:
        if not self.strategy:
            broke("suite", "the ConformanceSuite subclass sets no `strategy`", "set strategy")
        return StrategyRegistry(enabled=[self.strategy])

    @pytest.fixture
    def loaded(self, registry: StrategyRegistry) -> Strategy:
        try:
            return registry.get_strategy(self.strategy)
        except DeployerError as exc:
            broke("loads", exc.message, exc.hint or "see the reason above")
            raise  # unreachable: broke() fails the test

    @pytest.fixture
    def reference(self, tmp_path: Path) -> Path:
        return write_reference_solution(tmp_path / "reference")

    # -- packaging -------------------------------------------------------------------------

    def test_entry_point_is_installed(self) -> None:
        eps = [ep for ep in default_entry_points() if ep.name == self.strategy]
        if not eps:
            broke(
                "entry point",
                f"no entry point named {self.strategy!r} in group deployer.strategies",
                f'add [project.entry-points."deployer.strategies"] {self.strategy} = '
                f'"deployer_{self.strategy}" to pyproject.toml and reinstall the package',
            )
        if len(eps) > 1:
            broke(
                "entry point",
                f"{len(eps)} distributions register {self.strategy!r}",
                "uninstall all but one",
            )

    def test_plugin_loads_with_valid_config(self, registry: StrategyRegistry) -> None:
        records = [r for r in registry.records() if r.name == self.strategy]
        if not records:
            broke("loads", f"strategy {self.strategy!r} is not installed", "pip install -e .")
        record = records[0]
        if record.status != "ok":
            broke(f"loads ({record.status})", record.reason, record.hint or "see the reason")

    def test_instruction_files_are_written(self, loaded: Strategy) -> None:
        for label, text in (
            ("selector_instruction.md", loaded.selector_instruction),
            ("adapter_instruction.md", loaded.adapter_instruction),
        ):
            if len(text.strip()) < 80:
                broke(
                    "instructions",
                    f"{label} has {len(text.strip())} characters",
                    "describe when to choose the strategy / how to adapt a repository for it",
                )

    def test_plugin_module_imports_nothing_heavy(self, loaded: Strategy) -> None:
        runner_modules = sorted({path.partition(":")[0] for path in loaded.config.runner_paths()})
        probe = textwrap.dedent(
            f"""
            import json, sys
            import {loaded.package}
            print(json.dumps(sorted(m for m in sys.modules
                  if m in {runner_modules!r} or m.split('.')[0] in {list(HEAVY_MODULES)!r})))
            """
        )
        proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
        if proc.returncode != 0:
            broke("light plugin module", proc.stderr.strip()[-500:], "fix the import error")
        heavy = json.loads(proc.stdout.strip().splitlines()[-1])
        if heavy:
            broke(
                "light plugin module",
                f"importing {loaded.package} imports {', '.join(heavy)}",
                "import only deployer and the standard library in __init__.py; import the "
                "platform SDK inside runner methods",
            )

    # -- runner ------------------------------------------------------------------------------

    def _runner_classes(self, registry: StrategyRegistry) -> list[type]:
        """One runner class per target (or the only one)."""
        config = registry.get_strategy(self.strategy).config
        if isinstance(config.runner, str) or config.target_option is None:
            targets: list[dict[str, Any]] = [{}]
        else:
            targets = [{config.target_option: target} for target in config.runner]
        classes = []
        for options in targets:
            try:
                classes.append(registry.get_runner_class(self.strategy, options))
            except DeployerError as exc:
                broke("runner", exc.message, exc.hint or "check config.yaml's runner: path")
        return classes

    def test_runner_implements_the_interface(self, registry: StrategyRegistry) -> None:
        from deployer.runtime.runner import Runner

        for runner_class in self._runner_classes(registry):
            if not issubclass(runner_class, Runner) or inspect.isabstract(runner_class):
                missing = ", ".join(sorted(getattr(runner_class, "__abstractmethods__", ())))
                broke(
                    "runner",
                    f"{runner_class.__name__} leaves abstract methods: {missing}",
                    "implement deploy, stop, run and is_healthy",
                )

    def test_capabilities_match_the_runner(self, registry: StrategyRegistry) -> None:
        from deployer.runtime.runner import Runner

        config = registry.get_strategy(self.strategy).config
        if "stream" not in config.capabilities:
            return
        if all(cls.stream is Runner.stream for cls in self._runner_classes(registry)):
            broke(
                "capabilities",
                "config.yaml declares `stream` but no runner class has stream()",
                "implement stream() or drop the capability",
            )

    def test_availability_reports_without_raising(self, registry: StrategyRegistry) -> None:
        strategy = registry.get_strategy(self.strategy)
        defaults = strategy.config.resolve_options({})
        for options in (None, defaults):
            result = registry.availability(self.strategy, options)
            if not isinstance(result, Availability):
                broke("availability", f"got {type(result).__name__}", "return Availability")
            if result.reason.startswith("availability check failed"):
                broke("availability", result.reason, "deployer_check_availability must not raise")
            if not result.available and not result.reason:
                broke("availability", "unavailable without a reason", "say why, and how to fix")

    # -- adaptation --------------------------------------------------------------------------

    def test_templates_render_and_validate(
        self, registry: StrategyRegistry, reference: Path
    ) -> None:
        from deployer.adapter.agent import AdapterAgent
        from deployer.models import DeploymentSetting, SolutionResult

        before = tree_hash(reference)
        setting = DeploymentSetting(strategy=self.strategy, reasoning="conformance")
        try:
            result = AdapterAgent(registry).adapt(
                SolutionResult(code_path=reference), setting, options=self.round_trip_options
            )
        except DeployerError as exc:
            broke("templates", exc.message, exc.hint or "fix the templates/ of the strategy")
        if tree_hash(reference) != before:
            broke(
                "read-only source",
                "adapting wrote into the original solution",
                "write only into the adapted workspace",
            )
        if result.run_interface.entrypoint != "main:predict":
            broke(
                "templates", f"entry point {result.run_interface.entrypoint}", "keep main:predict"
            )
        if not result.files_changed:
            broke("templates", "no template file was rendered", "add files under templates/")

    # -- round trip --------------------------------------------------------------------------

    @pytest.fixture
    def deployed(
        self, registry: StrategyRegistry, reference: Path, request: pytest.FixtureRequest
    ) -> Iterator[Any]:
        yield from self._deploy(registry, reference, request, "conformance")

    def _deploy(
        self,
        registry: StrategyRegistry,
        solution: Path,
        request: pytest.FixtureRequest,
        name: str,
    ) -> Iterator[Any]:
        from deployer.deployment.factory import DeploymentFactory
        from deployer.models import DeployConfig, SolutionResult

        if self.round_trip_options is None:
            pytest.skip(f"{self.strategy} declares it cannot run on this machine")
        availability = registry.availability(self.strategy, self.round_trip_options)
        if not availability.available:
            # a missing component, not a declared limit: DEPLOYER_REQUIRE_REAL=1 fails this
            request.applymarker(pytest.mark.real)
            pytest.skip(f"{self.strategy} is unavailable here: {availability.reason}")
        config = DeployConfig(
            solution=SolutionResult(code_path=solution),
            strategy=self.strategy,
            options=self.round_trip_options,
            name=name,
            startup_timeout=self.startup_timeout,
        )
        try:
            software = DeploymentFactory(registry).create(config)
        except DeployerError as exc:
            broke("round trip: deploy", exc.message, exc.hint or "see the runner's logs")
        try:
            yield software
        finally:
            software.remove()

    def test_round_trip_returns_the_right_answer(self, deployed: Any) -> None:
        readiness = deployed.readiness()
        if readiness.state != "ready":
            broke(
                "round trip: readiness",
                f"readiness() after deploy is {readiness.state} ({readiness.error})",
                "deploy() returns once the entry point is loaded; readiness() then says ready",
            )
        result = deployed.run(REFERENCE_INPUT)
        if result != {"status": "success", "output": REFERENCE_OUTPUT}:
            broke("round trip: run", f"got {result}", "call the entry point with the input's keys")
        error = deployed.run({"wrong": 1})
        if error.get("status") != "error" or not error.get("error"):
            broke("round trip: errors", f"bad input gave {error}", "return the error envelope")
        if not deployed.is_healthy():
            broke("round trip: health", "unhealthy after an error", "keep serving after errors")
        if "schema" in deployed.info.capabilities:
            self._check_schema(deployed)
        deployed.stop()
        if deployed.is_healthy():
            broke("round trip: stop", "still healthy after stop()", "stop() must stop serving")
        if deployed.readiness().state == "ready":
            broke("round trip: stop", "readiness() is ready after stop()", "report stopped")
        deployed.stop()  # idempotent
        deployed.start()
        if deployed.run(REFERENCE_INPUT).get("output") != REFERENCE_OUTPUT:
            broke("round trip: start", "wrong answer after start()", "start() must restore it")

    def _check_schema(self, deployed: Any) -> None:
        """`schema` declared: the input schema names the reference's typed parameters, and
        a wrongly typed input is refused before the call, naming the field."""
        schema = deployed.schema() or {}
        properties = schema.get("properties", {})
        if properties.get("text", {}).get("type") != "string" or schema.get("required") != ["text"]:
            broke(
                "schema",
                f"the input schema of predict(text: str, repeat: int = 1) is {schema}",
                "serve the JSON Schema read from the entry point's annotations (runtime /schema)",
            )
        if properties.get("repeat", {}).get("type") != "integer":
            broke("schema", f"repeat: int is {properties.get('repeat')}", "map int to integer")
        refused = deployed.run({"text": 3})
        if refused.get("status") != "error" or "text" not in str(refused.get("error")):
            broke(
                "schema: validation",
                f"a number for text: str gave {refused}",
                "validate inputs against the schema before the call and name the field",
            )

    # -- streaming (strategies that declare `stream`) -----------------------------------------

    @pytest.fixture
    def streaming(
        self, registry: StrategyRegistry, tmp_path: Path, request: pytest.FixtureRequest
    ) -> Iterator[Any]:
        config = registry.get_strategy(self.strategy).config
        if "stream" not in config.capabilities:
            pytest.skip(f"{self.strategy} does not declare the stream capability")
        root = tmp_path / "streaming"
        root.mkdir()
        for name, text in STREAM_SOLUTION.items():
            (root / name).write_text(text, encoding="utf-8")
        yield from self._deploy(registry, root, request, "conformance-stream")

    def test_stream_yields_items_in_order(self, streaming: Any) -> None:
        received = list(streaming.stream(STREAM_INPUT))
        items = [item.get("output") for item in received if item.get("status") == "item"]
        if items != STREAM_ITEMS:
            broke(
                "stream",
                f"streaming a generator of {STREAM_ITEMS} gave {received}",
                'yield {"status": "item", "output": ...} per item, then the final envelope',
            )
        if not received or received[-1].get("status") != "success":
            broke("stream", f"the stream ended with {received[-1:]}", "end with a success item")
