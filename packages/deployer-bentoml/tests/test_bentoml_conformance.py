"""deployer-bentoml against core's conformance kit (target=local: a real `bentoml serve`)."""

from __future__ import annotations

from deployer.testing import ConformanceSuite


class TestBentoMLConformance(ConformanceSuite):
    strategy = "bentoml"
    round_trip_options = {"target": "local"}
    startup_timeout = 180.0
