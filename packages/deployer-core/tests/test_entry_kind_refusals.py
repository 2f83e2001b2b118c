"""A strategy's `refused_entry_kinds` (config.yaml): the one-line reason `deploy` gives, before
adapting anything, for an entry point of a kind the strategy does not run."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from deployer.adapter.agent import detected_entry
from deployer.errors import EntrypointError
from deployer.plugins.strategy_config import StrategyConfig
from deployer.testing import write_solution

BASE = {
    "api_version": 1,
    "name": "webless",
    "summary": "test",
    "provider": "test",
    "interface": "function",
    "runner": "pkg.runner:Runner",
}
FLASK_APP = {
    "app.py": """
    from flask import Flask

    app = Flask(__name__)


    @app.post("/echo")
    def echo():
        return {}
    """
}


def test_reasons_are_read_per_kind_and_unknown_kinds_refused() -> None:
    config = StrategyConfig.model_validate(
        {**BASE, "entry_kinds": ["function"], "refused_entry_kinds": {"wsgi": "no web apps"}}
    )
    assert config.refused_entry_kinds == {"wsgi": "no web apps"}
    assert StrategyConfig.model_validate(BASE).refused_entry_kinds == {}
    with pytest.raises(ValidationError, match="refused_entry_kinds"):
        StrategyConfig.model_validate({**BASE, "refused_entry_kinds": {"webapp": "x"}})


def test_the_refusal_names_the_strategys_reason(tmp_path: Path) -> None:
    source = write_solution(tmp_path / "sol", FLASK_APP)
    with pytest.raises(EntrypointError) as refused:
        detected_entry(source, None, source, ["function"], "webless", {"wsgi": "no web apps here"})
    message = refused.value.message
    assert "app:app is a flask wsgi" in message
    assert "the webless strategy cannot run (no web apps here; it runs: function)" in message
    assert "\n" not in message
    with pytest.raises(EntrypointError, match=r"cannot run \(it runs: function\) \(deploy it"):
        detected_entry(source, None, source, ["function"], "webless")


def test_the_refusal_hint_names_the_installed_strategies_that_run_the_kind(tmp_path: Path) -> None:
    source = write_solution(tmp_path / "sol", FLASK_APP)
    runners = {"wsgi": ["docker", "local", "webless"], "function": ["webless"]}
    with pytest.raises(EntrypointError) as refused:
        detected_entry(source, None, source, ["function"], "webless", None, runners)
    assert refused.value.hint == (
        "deploy it with --strategy docker or local, which run a wsgi; or pass --entrypoint "
        "module:function naming a function that wraps it"
    )
    with pytest.raises(EntrypointError) as nowhere:
        detected_entry(source, None, source, ["function"], "webless", None, {"function": []})
    assert nowhere.value.hint.startswith("no installed strategy runs a wsgi;")


def test_runners_by_kind_reads_every_target_of_every_strategy() -> None:
    from deployer.adapter.agent import runners_by_kind
    from deployer.plugins.registry import StrategyRegistry

    runners = runners_by_kind(StrategyRegistry())
    assert "local" in runners["asgi"]  # local's process target
    assert "local" in runners["function"]
    assert all(names == sorted(names) for names in runners.values())
