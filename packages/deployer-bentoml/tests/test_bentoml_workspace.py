"""Fast checks without a server: plugin metadata, availability, selection, the adapted
workspace (load step, settings, bentofile, a solution's own service) and error messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bentoml_support import EXAMPLES, write_solution
from deployer.adapter.agent import AdapterAgent
from deployer.errors import DeployFailedError
from deployer.models import DeploymentSetting, Resources, SolutionResult
from deployer.paths import deployment_dir
from deployer.plugins.registry import StrategyRegistry
from deployer.runtime.runner import RunnerContext
from deployer.selector.agent import SelectorAgent
from deployer_bentoml import availability
from deployer_bentoml.sdk import server_error, server_failure
from deployer_bentoml.workspace import FALLBACK_SERVICE_FILE, SETTINGS_FILE, prepare


def adapted_context(
    registry: StrategyRegistry,
    source: Path,
    *,
    name: str = "sol",
    options: dict | None = None,
    resources: Resources | None = None,
) -> RunnerContext:
    adaptation = AdapterAgent(registry).adapt(
        SolutionResult(code_path=source),
        DeploymentSetting(strategy="bentoml", reasoning="test"),
        name=name,
        options=options,
    )
    return RunnerContext(
        name=name,
        adapted_path=adaptation.adapted_path,
        run_interface=adaptation.run_interface,
        runtime_dir=deployment_dir(name),
        options=registry.get_strategy("bentoml").config.resolve_options(options or {}),
        resources=resources or Resources(),
        run_timeout=42.5,
    )


def test_listing_and_availability_never_import_bentoml():
    probe = (
        "import sys\n"
        "from deployer.plugins.registry import StrategyRegistry\n"
        "r = StrategyRegistry(enabled=['bentoml'])\n"
        "assert [x.status for x in r.records()] == ['ok']\n"
        "r.availability('bentoml'); r.availability('bentoml', {'target': 'bentocloud'})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('bentoml', '_bentoml_impl')))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_plugin_metadata(registry: StrategyRegistry):
    strategy = registry.get_strategy("bentoml")
    assert strategy.config.options["target"].default == "local"
    assert {"service.py.tmpl", "bentofile.yaml.tmpl"} <= {
        p.name for p in strategy.templates.iterdir()
    }


def test_local_target_available_and_bentocloud_needs_a_login(registry: StrategyRegistry):
    assert registry.availability("bentoml").available
    assert registry.availability("bentoml", {"target": "local"}).available
    cloud = registry.availability("bentoml", {"target": "bentocloud"})
    assert not cloud.available
    assert "no BentoCloud login" in cloud.reason and "\n" not in cloud.reason
    assert "bentoml cloud login" in cloud.hint


def test_login_from_env_or_cloud_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    assert not availability.find_login().found
    config = availability.cloud_config_path()
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("contexts: []\ncurrent_context_name: default\n")
    assert not availability.find_login().found
    config.write_text(
        yaml.safe_dump(
            {
                "contexts": [{"name": "work", "endpoint": "https://x", "api_token": "t0k"}],
                "current_context_name": "work",
            }
        )
    )
    found = availability.find_login()
    assert found.found and "work" in found.source
    config.write_text("contexts: [unclosed\n")
    assert "not valid YAML" in availability.find_login().reason
    monkeypatch.setenv("BENTO_CLOUD_API_KEY", "k")
    assert availability.find_login().source == "BENTO_CLOUD_API_KEY"


def test_selection_signals(tmp_path: Path):
    registry = StrategyRegistry(enabled=["bentoml", "local"])
    selector = SelectorAgent(registry)
    model = write_solution(
        tmp_path / "model",
        {
            "requirements.txt": "scikit-learn\n",
            "predict.py": "import sklearn\n\ndef predict(x):\n    return x\n",
        },
    )
    assert selector.select(SolutionResult(code_path=model)).strategy == "bentoml"
    hello = EXAMPLES / "hello"
    assert selector.select(SolutionResult(code_path=hello)).strategy == "local"
    goal = SolutionResult(code_path=hello, goal="a high throughput serving API with batching")
    assert selector.select(goal).strategy == "bentoml"
    own = write_solution(
        tmp_path / "own",
        {"service.py": "import bentoml\n\n@bentoml.service\nclass S:\n    pass\n"},
    )
    ranking = selector.rank(SolutionResult(code_path=own))
    assert ranking[0].strategy == "bentoml"


def test_example_workspace_has_load_step_settings_and_dependencies(registry: StrategyRegistry):
    ctx = adapted_context(
        registry,
        EXAMPLES / "bentoml_iris",
        name="iris",
        options={"concurrency": 4, "workers": 2},
        resources=Resources(cpu=2, memory="1Gi", gpu="T4"),
    )
    spec = prepare(ctx, target="local")
    assert spec.target == "service:DeployerService" and spec.api == "run" and spec.own
    assert spec.load == "predict:load"
    settings = json.loads((ctx.adapted_path / SETTINGS_FILE).read_text())
    assert settings["entrypoint"] == "predict:predict"
    assert settings["calling_convention"] == "kwargs"
    assert settings["traffic"] == {"timeout": 43, "concurrency": 4}
    assert settings["workers"] == 2
    assert settings["resources"] == {"cpu": "2", "memory": "1Gi"}  # no GPU asked locally
    bentofile = yaml.safe_load((ctx.adapted_path / "bentofile.yaml").read_text())
    assert bentofile["service"] == "service:DeployerService"
    assert bentofile["python"]["requirements_txt"] == "./requirements.txt"
    assert bentofile["python"]["lock_packages"] is False
    service = (ctx.adapted_path / "service.py").read_text()
    assert '"predict:predict"' in service and "@bentoml.service" in service
    compile(service, "service.py", "exec")

    cloud = prepare(ctx, target="bentocloud")
    assert cloud.target == spec.target
    settings = json.loads((ctx.adapted_path / SETTINGS_FILE).read_text())
    assert settings["resources"]["gpu"] == 1 and settings["resources"]["gpu_type"] == "t4"


def test_declared_load_step_and_pyproject_dependencies(registry: StrategyRegistry, tmp_path):
    source = write_solution(
        tmp_path / "declared",
        {
            "pyproject.toml": """
            [project]
            name = "declared"
            version = "0"
            dependencies = ["python-slugify>=8"]

            [tool.deployer]
            entrypoint = "app.core:infer"
            load = "app.core:warm_up"
            """,
            "app/__init__.py": "",
            "app/core.py": "def warm_up():\n    pass\n\ndef infer(inputs: dict):\n    return 1\n",
        },
    )
    ctx = adapted_context(registry, source)
    spec = prepare(ctx, target="local")
    assert spec.load == "app.core:warm_up"
    assert ctx.run_interface.calling_convention == "dict"
    bentofile = yaml.safe_load((ctx.adapted_path / "bentofile.yaml").read_text())
    assert bentofile["python"]["packages"] == ["python-slugify>=8"]


def test_load_function_with_required_arguments_is_not_a_load_step(registry, tmp_path):
    source = write_solution(
        tmp_path / "noload",
        {"main.py": "def load(path):\n    pass\n\ndef predict(x):\n    return x\n"},
    )
    assert prepare(adapted_context(registry, source), target="local").load is None


def test_solution_service_py_that_is_not_bentoml_gets_ours_beside_it(registry, tmp_path):
    source = write_solution(
        tmp_path / "clash",
        {"service.py": "RATE = 3\n", "main.py": "def predict(x):\n    return x\n"},
    )
    ctx = adapted_context(registry, source)
    spec = prepare(ctx, target="local")
    assert spec.target == "deployer_service:DeployerService"
    assert (ctx.adapted_path / "service.py").read_text() == "RATE = 3\n"
    assert '"main:predict"' in (ctx.adapted_path / FALLBACK_SERVICE_FILE).read_text()
    bentofile = yaml.safe_load((ctx.adapted_path / "bentofile.yaml").read_text())
    assert bentofile["service"] == "deployer_service:DeployerService"


OWN_SERVICE = {
    "pyproject.toml": '[tool.deployer]\nentrypoint = "main:summarize"\n',
    "main.py": "def summarize(text):\n    return text[:10]\n",
    "service.py": """
    import bentoml

    from main import summarize as _summarize


    @bentoml.service(traffic={"timeout": 10})
    class Summarizer:
        @bentoml.api
        def summarize(self, text: str) -> str:
            return _summarize(text)

        @bentoml.api
        def shout(self, text: str) -> str:
            return text.upper()
    """,
}


def test_solution_that_is_a_bentoml_service_is_used_as_it_is(registry, tmp_path):
    source = write_solution(tmp_path / "own", OWN_SERVICE)
    ctx = adapted_context(registry, source)
    original = (ctx.adapted_path / "service.py").read_text()
    spec = prepare(ctx, target="local")
    assert (spec.target, spec.api, spec.own) == ("service:Summarizer", "summarize", False)
    assert spec.apis == ["summarize", "shout"]
    assert (ctx.adapted_path / "service.py").read_text() == original
    assert not (ctx.adapted_path / SETTINGS_FILE).exists()


def test_own_bentofile_naming_a_missing_service_is_one_clear_error(registry, tmp_path):
    source = write_solution(
        tmp_path / "badfile",
        {"bentofile.yaml": "service: 'svc:Nope'\n", "main.py": "def predict(x):\n    return x\n"},
    )
    with pytest.raises(DeployFailedError, match="'svc:Nope' was not found"):
        prepare(adapted_context(registry, source), target="local")


class _Status:
    def __init__(self, value: int) -> None:
        self.value = value


class _ServerError(Exception):
    def __init__(self, text: str, status: int) -> None:
        super().__init__(text)
        self.error_code = _Status(status)


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        ('{"error": "ValueError: negative"}', 500, "ValueError: negative"),
        ('[{"error": "bad input"}]', 400, "bad input"),
        (
            '{"error": "1 validation error for Input", "detail": [{"loc": ["inputs"], '
            '"msg": "Field required"}]}',
            400,
            "invalid input: inputs: Field required",
        ),
        ("Service Unavailable", 503, "the API 'run' failed with HTTP 503: Service Unavailable"),
    ],
)
def test_server_errors_become_one_readable_message(body: str, status: int, expected: str):
    assert server_error(_ServerError(body, status), "run") == expected


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"error": "invalid input: text: expected str", "field": "text"}', "text"),
        (  # BentoML's own validation of a solution's service: the first error's location
            '{"error": "2 validation errors for Input", "detail": [{"loc": ["body", "stars"], '
            '"msg": "Input should be a valid integer"}, {"loc": ["text"], "msg": "missing"}]}',
            "stars",
        ),
        ('{"error": "ValueError: negative"}', None),
    ],
)
def test_a_failed_call_names_the_field_at_fault(body: str, field: str | None):
    envelope = server_failure(body, "run", 422)
    assert envelope["status"] == "error" and envelope.get("field") == field
