"""deployer's pytest plugin (entry point `pytest11`), active wherever deployer-core is installed.

It registers the `real` marker (a test that needs a real component: a server, a daemon, a
binary) and, with DEPLOYER_REQUIRE_REAL=1 (CI), turns a skipped `real` test into a failure, so
a missing component cannot pass silently. Strategy packages outside this repository get the
same behaviour for the conformance kit (`deployer.testing.ConformanceSuite`).

It also ships the fixtures every strategy package needs (`deployer_home`, `registry`,
`deployer_strategy`, `deployments`, `remove_deployments`: see `deployer.testing.fixtures`).
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

from deployer.testing.fixtures import (  # noqa: F401  (fixtures are found by name)
    deployer_home,
    deployer_strategy,
    deployments,
    registry,
    remove_deployments,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "real: needs a real component (server, daemon, binary); with DEPLOYER_REQUIRE_REAL=1 a "
        "skip of such a test is a failure",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("DEPLOYER_REQUIRE_REAL") != "1" or not report.skipped:
        return
    if item.get_closest_marker("real") is not None:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"DEPLOYER_REQUIRE_REAL=1 but a real component is missing: {reason}"
