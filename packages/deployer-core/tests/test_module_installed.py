"""module_installed: finds modules and submodules on disk without importing anything."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from deployer.plugin import module_installed


@pytest.fixture
def booby_trapped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A package whose import raises: any check that imports it fails loudly."""
    package = tmp_path / "trapped_pkg"
    (package / "inner").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('imported trapped_pkg')\n")
    (package / "inner" / "__init__.py").write_text("raise RuntimeError('imported inner')\n")
    (package / "inner" / "leaf.py").write_text("")
    (package / "plain.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "trapped_pkg"


def test_top_level_and_submodules_are_found_without_importing(booby_trapped: str):
    assert module_installed(booby_trapped)
    assert module_installed(f"{booby_trapped}.plain")
    assert module_installed(f"{booby_trapped}.inner")
    assert module_installed(f"{booby_trapped}.inner.leaf")
    assert not any(name.startswith(booby_trapped) for name in sys.modules)


def test_missing_names_are_not_installed(booby_trapped: str):
    assert not module_installed("no_such_module_for_deployer_tests")
    assert not module_installed(f"{booby_trapped}.missing")
    assert not module_installed(f"{booby_trapped}.inner.missing")
    # a module is not a package: nothing lives under it
    assert not module_installed(f"{booby_trapped}.plain.below")


def test_odd_names_are_not_installed():
    assert not module_installed("")
    assert not module_installed(".relative")


def test_already_imported_modules_are_found():
    assert module_installed("json.decoder")
