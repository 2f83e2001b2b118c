"""The plugin as deployer sees it: availability, credentials, selection, settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deployer.errors import DeployFailedError
from deployer.models import Resources, SolutionResult
from deployer.runtime.runner import RunnerContext
from deployer.selector.agent import SelectorAgent
from deployer.testing import ConformanceSuite
from deployer_modal import availability as credentials
from deployer_modal import workspace as settings
from modal_support import EXAMPLES, write_solution


class TestModalConformance(ConformanceSuite):
    """The kit's round trip runs with target=local: the cloud needs an account."""

    strategy = "modal"
    round_trip_options = {"target": "local"}


# -- availability ------------------------------------------------------------------------------


def test_unavailable_without_token_available_with_target_local(registry) -> None:
    registry = type(registry)(enabled=["modal"])  # fresh: availability is cached per registry
    listed = registry.availability("modal")
    assert not listed.available
    assert listed.reason.startswith("no Modal token: neither MODAL_TOKEN_ID/MODAL_TOKEN_SECRET")
    assert "modal token new" in listed.hint and "target=local" in listed.hint
    defaults = registry.get_strategy("modal").config.resolve_options({})
    assert not registry.availability("modal", defaults).available
    local = registry.get_strategy("modal").config.resolve_options({"target": "local"})
    assert registry.availability("modal", local).available


def test_token_from_environment(registry, fake_token) -> None:
    assert type(registry)(enabled=["modal"]).availability("modal").available


def test_half_a_token_says_which_half(monkeypatch) -> None:
    monkeypatch.setenv("MODAL_TOKEN_ID", "ak-x")
    assert credentials.missing_credentials() == (
        "Modal token incomplete: token_id is set but token_secret is not (MODAL_TOKEN_SECRET)"
    )


def test_token_from_config_file_profiles(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "modal.toml"
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(config))
    config.write_text('[default]\ntoken_id = "ak-1"\ntoken_secret = "as-1"\n')
    assert credentials.missing_credentials() is None
    config.write_text(
        '[work]\ntoken_id = "ak-1"\ntoken_secret = "as-1"\nactive = true\n[other]\nx = 1\n'
    )
    assert credentials.missing_credentials() is None
    monkeypatch.setenv("MODAL_PROFILE", "other")
    assert credentials.missing_credentials().startswith("no Modal token")
    monkeypatch.setenv("MODAL_TOKEN_SECRET", "as-2")  # env and file combine, key by key
    config.write_text('[other]\ntoken_id = "ak-1"\n')
    assert credentials.missing_credentials() is None


def test_unreadable_config_file_is_a_reason(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "modal.toml"
    config.write_text("this is [not toml")
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(config))
    assert credentials.missing_credentials().startswith(
        f"Modal's config file {config} is unreadable"
    )


def test_oauth_credentials_count(monkeypatch) -> None:
    monkeypatch.setenv("MODAL_OAUTH_REFRESH_TOKEN", "r")
    monkeypatch.setenv("MODAL_OAUTH_CLIENT_ID", "c")
    assert credentials.missing_credentials() is not None
    monkeypatch.setenv("MODAL_OAUTH_CLIENT_SECRET", "s")
    assert credentials.missing_credentials() is None


def test_strategies_command_shows_the_reason(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODAL_")}
    env.update(MODAL_CONFIG_PATH=str(tmp_path / "none.toml"), DEPLOYER_STRATEGIES="modal")
    proc = subprocess.run(
        [sys.executable, "-m", "deployer", "strategies", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    (record,) = json.loads(proc.stdout)
    assert (record["name"], record["status"], record["available"]) == ("modal", "ok", False)
    assert record["reason"].startswith("no Modal token")


# -- selection ---------------------------------------------------------------------------------


def test_selection_passes_over_modal_without_token_with_the_reason() -> None:
    from deployer.plugins.registry import StrategyRegistry

    setting = SelectorAgent(StrategyRegistry(enabled=["modal", "local"])).select(
        SolutionResult(code_path=EXAMPLES / "modal_classifier")
    )
    assert setting.strategy == "local"
    assert "modal fits better" in setting.reasoning and "no Modal token" in setting.reasoning
    (modal_score,) = [s for s in setting.ranking if s.strategy == "modal"]
    assert not modal_score.available and modal_score.unavailable_reason.startswith("no Modal token")


def test_selection_picks_modal_with_a_token(fake_token) -> None:
    from deployer.plugins.registry import StrategyRegistry

    setting = SelectorAgent(StrategyRegistry(enabled=["modal", "local"])).select(
        SolutionResult(code_path=EXAMPLES / "modal_classifier")
    )
    assert setting.strategy == "modal"
    assert "goal says 'serverless'" in setting.reasoning


def test_gpu_signals_outweigh_local(tmp_path: Path, fake_token) -> None:
    from deployer.plugins.registry import StrategyRegistry

    source = write_solution(
        tmp_path / "gpu",
        {
            "requirements.txt": "torch\ntransformers\n",
            "main.py": """
            import torch

            def predict(text):
                device = "cuda" if torch.cuda.is_available() else "cpu"
                return {"device": device}
            """,
        },
    )
    ranking = SelectorAgent(StrategyRegistry(enabled=["modal", "local"])).rank(
        SolutionResult(code_path=source, goal="classify text")
    )
    assert ranking[0].strategy == "modal"
    reasons = " ".join(ranking[0].reasons)
    assert "depends on torch" in reasons and "code mentions 'torch.cuda'" in reasons


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "mib"),
    [("512Mi", 512), ("2Gi", 2048), ("1G", 954), ("1024", 1024), ("1.5Gi", 1536), (None, None)],
)
def test_memory_in_mib(given, mib) -> None:
    assert settings.memory_mib(given) == mib


def test_bad_memory_is_clear() -> None:
    with pytest.raises(DeployFailedError, match="memory 'lots' is not a size Modal understands"):
        settings.memory_mib("lots")


@pytest.mark.parametrize(
    ("given", "gpu"),
    [("T4", "T4"), ("A100-80GB:2", "A100-80GB:2"), ("1", "any"), ("2", "any:2"), ("0", None)],
)
def test_gpu_strings(given, gpu) -> None:
    assert settings.modal_gpu(given) == gpu


def test_secret_names_fit_modal_one_per_version() -> None:
    assert settings.secret_name("sol") == "deployer-sol-v1"
    assert settings.secret_name("sol", 12) == "deployer-sol-v12"
    long = settings.secret_name("x" * 63, 123)
    assert len(long) <= 64 and long.startswith("deployer-xxx") and long.endswith("-v123")
    assert long != settings.secret_name("x" * 62 + "y", 123)
    assert long != settings.secret_name("x" * 63, 124)


def test_settings_hold_no_secret_values(tmp_path: Path) -> None:
    context = RunnerContext(
        name="sol",
        adapted_path=tmp_path,
        run_interface={"entrypoint": "main:predict"},
        runtime_dir=tmp_path,
        env={"B_KEY": "value-b", "A_KEY": "value-a"},
        resources=Resources(gpu="2", memory="4Gi", cpu=1.5),
        run_timeout=1e9,
    )
    built = settings.build(context)
    assert built["secret_keys"] == ["A_KEY", "B_KEY"]
    assert built["timeout"] == settings.MAX_TIMEOUT
    assert (built["gpu"], built["memory"], built["cpu"]) == ("any:2", 4096, 1.5)
    assert "value-a" not in json.dumps(built) and "value-b" not in json.dumps(built)


def test_torch_on_cpu_alone_is_no_gpu_need(tmp_path: Path, fake_token) -> None:
    from deployer.plugins.registry import StrategyRegistry

    source = write_solution(
        tmp_path / "cpu",
        {
            "requirements.txt": "torch\n",
            "main.py": "import torch\n\ndef predict(x):\n    return float(torch.tensor(x).sum())\n",
        },
    )
    setting = SelectorAgent(StrategyRegistry(enabled=["modal", "local"])).select(
        SolutionResult(code_path=source, goal="add numbers")
    )
    assert setting.strategy == "local"
