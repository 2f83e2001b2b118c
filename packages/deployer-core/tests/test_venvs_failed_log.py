"""Kept install logs: the rollback of a failed deploy removes the deployment's directory, so
the log its error names is copied under <home>/failed/ first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deployer.errors import DeployFailedError
from deployer.runtime.venvs import keep_failed_log, point_at_kept_log


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DEPLOYER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def install_log(home: Path, name: str, text: str) -> Path:
    log = home / "deployments" / name / "install.log"
    log.parent.mkdir(parents=True)
    log.write_text(text)
    return log


def test_the_hint_names_a_copy_that_outlives_the_rollback(home: Path) -> None:
    log = install_log(home, "web", "ERROR: No matching distribution\n")
    error = DeployFailedError("installing failed", hint=f"check it; full log: {log}")
    point_at_kept_log(error, log)
    shutil.rmtree(log.parent)  # what the rollback does
    kept = home / "failed" / "web-install.log"
    assert error.hint == f"check it; full log: {kept}"
    assert kept.read_text() == "ERROR: No matching distribution\n"


def test_a_hint_without_the_log_gets_it_added(home: Path) -> None:
    log = install_log(home, "api", "x\n")
    error = DeployFailedError("creating a venv failed")
    point_at_kept_log(error, log)
    assert error.hint == f"full log: {home / 'failed' / 'api-install.log'}"


def test_nothing_to_keep_leaves_the_error_alone(home: Path) -> None:
    missing = home / "deployments" / "none" / "install.log"
    assert keep_failed_log(missing) is None
    error = DeployFailedError("failed", hint="do this")
    point_at_kept_log(error, missing)
    assert error.hint == "do this"


def test_the_last_attempt_replaces_the_one_before(home: Path) -> None:
    first = keep_failed_log(install_log(home, "again", "first\n"))
    shutil.rmtree(home / "deployments" / "again")
    second = keep_failed_log(install_log(home, "again", "second\n"))
    assert first == second and second is not None and second.read_text() == "second\n"
