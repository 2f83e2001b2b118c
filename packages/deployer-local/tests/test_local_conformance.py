"""deployer-local against the conformance kit, in both modes."""

from __future__ import annotations

from deployer.testing import ConformanceSuite


class TestLocalProcessConformance(ConformanceSuite):
    strategy = "local"
    round_trip_options = {"mode": "process"}


class TestLocalInprocessConformance(ConformanceSuite):
    strategy = "local"
    round_trip_options = {"mode": "inprocess"}
