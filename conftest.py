"""Shared pytest settings for every test directory in the workspace.

With DEPLOYER_REQUIRE_REAL=1 (set by CI) a test that skips because a real component is missing
fails instead: CI must prove the real paths, not skip them.
"""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("DEPLOYER_REQUIRE_REAL") != "1" or not report.skipped:
        return
    if item.get_closest_marker("real") is not None:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"DEPLOYER_REQUIRE_REAL=1 but a real component is missing: {reason}"
