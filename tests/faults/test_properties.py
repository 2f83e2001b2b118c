"""Property-based bad input (hypothesis): any JSON value or byte string as `run` input, any
string as a name, an option value or an env pair gives a success or a one-line error, never a
traceback, never a change to the source tree, never an unreadable store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import deployer
from deployer.deployment.state import StateStore
from deployer.errors import DeployerError, usage_error_from
from deployer.models import DeployConfig, SolutionResult
from deployer.plugins.registry import StrategyRegistry
from deployer.testing import tree_hash

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def deployed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[deployer.DeployedSoftware, Path, str]]:
    root = tmp_path_factory.mktemp("props")
    source = root / "sol"
    source.mkdir()
    (source / "main.py").write_text("def predict(inputs: dict):\n    return {'echo': inputs}\n")
    home = root / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEPLOYER_HOME", str(home))
        mp.setenv("DEPLOYER_STRATEGIES", "local")
        before = tree_hash(source)
        software = deployer.deploy(source, strategy="local", mode="inprocess", name="props")
        try:
            yield software, source, before
        finally:
            software.remove()


def is_envelope(result: object) -> bool:
    if not isinstance(result, dict) or result.get("status") not in {"success", "error"}:
        return False
    if result["status"] == "error":
        assert isinstance(result["error"], str) and "Traceback" not in result["error"]
    json.dumps(result, allow_nan=False)  # always valid JSON
    return True


@SETTINGS
@given(value=JSON)
def test_any_json_value_as_input_is_an_envelope(deployed, value) -> None:
    software, source, before = deployed
    assert is_envelope(software.run(value))
    assert is_envelope(software.run(json.dumps(value)))
    assert tree_hash(source) == before


@SETTINGS
@given(data=st.binary(max_size=200))
def test_any_bytes_as_input_is_an_envelope(deployed, data) -> None:
    software, _, _ = deployed
    assert is_envelope(software.run(data))


@SETTINGS
@given(name=st.text(max_size=80))
def test_any_string_as_a_name_is_valid_or_one_line(tmp_path_factory, name) -> None:
    try:
        DeployConfig(solution=SolutionResult(code_path=Path(".")), name=name)
    except ValidationError as exc:
        error = usage_error_from(exc)
        assert "\n" not in error.message and error.message


@SETTINGS
@given(key=st.sampled_from(["mode", "port", "python"]), value=st.text(max_size=40))
def test_any_option_value_is_coerced_or_one_line(key, value) -> None:
    config = StrategyRegistry(enabled=["local"]).get_strategy("local").config
    try:
        config.resolve_options({key: value})
    except DeployerError as exc:
        assert "\n" not in exc.message and exc.message.startswith(f"option {key!r}")


@SETTINGS
@given(pair=st.text(max_size=30))
def test_any_env_pair_is_accepted_or_one_line(pair) -> None:
    import click

    from deployer.cli.common import pairs

    try:
        parsed = pairs((pair,), "--env")
    except click.BadParameter as exc:
        assert "\n" not in exc.message
    else:
        [(key, _)] = parsed.items()
        assert key and key.isidentifier() and " " not in key


def test_the_store_stays_readable(deployed) -> None:
    software, _, _ = deployed
    store = StateStore()
    assert store.unreadable() == []
    assert [info.name for info in store.list()] == ["props"]
    assert software.is_healthy()
