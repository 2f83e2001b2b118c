"""Helpers for testing deployer and strategy packages: the conformance kit and fixtures.

A strategy package gets a ready test suite against itself by subclassing `ConformanceSuite`:

    from deployer.testing import ConformanceSuite

    class TestConformance(ConformanceSuite):
        strategy = "mystrategy"
        round_trip_options = {"mode": "fast"}   # None: this strategy cannot run here

The fixtures `deployer_home`, `registry`, `deployer_strategy`, `deployments` and
`remove_deployments` come with core's pytest plugin (`deployer.testing.fixtures`); `SteadyCalls`
keeps calling a deployment while it changes. Names load on first use, so the plugin, active
in every pytest run where deployer-core is installed, stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

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
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'deployer.testing' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
