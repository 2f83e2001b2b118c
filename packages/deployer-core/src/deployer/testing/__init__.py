"""Helpers for testing deployer and strategy packages: the conformance kit and fixtures.

A strategy package gets a ready test suite against itself by subclassing `ConformanceSuite`:

    from deployer.testing import ConformanceSuite

    class TestConformance(ConformanceSuite):
        strategy = "mystrategy"
        round_trip_options = {"mode": "fast"}   # None: this strategy cannot run here

The fixtures `deployer_home`, `registry`, `deployer_strategy`, `deployments` and
`remove_deployments` come with core's pytest plugin (`deployer.testing.fixtures`); `SteadyCalls`
keeps calling a deployment while it changes; `DeployerCli` runs the `deployer` command as a
user does (its own process, a private DEPLOYER_HOME) and returns a `CliResult`; `wait_until`
polls for an asynchronous effect. Names load on first use, so the plugin, active in every
pytest run where deployer-core is installed, stays cheap.
"""

from __future__ import annotations

from deployer.lazy import lazy_getattr

_LAZY = {
    "ConformanceSuite": "deployer.testing.conformance",
    "REFERENCE_INPUT": "deployer.testing.conformance",
    "REFERENCE_OUTPUT": "deployer.testing.conformance",
    "REFERENCE_SOLUTION": "deployer.testing.conformance",
    "HEAVY_MODULES": "deployer.testing.conformance",
    "tree_hash": "deployer.testing.conformance",
    "write_reference_solution": "deployer.testing.conformance",
    "Deployments": "deployer.testing.fixtures",
    "write_solution": "deployer.testing.fixtures",
    "SteadyCalls": "deployer.testing.steady",
    "CliResult": "deployer.testing.cli",
    "DeployerCli": "deployer.testing.cli",
    "wait_until": "deployer.testing.polling",
}

__all__ = list(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
