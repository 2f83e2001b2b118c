"""deployer-langgraph against core's conformance kit (the dev target runs here)."""

from __future__ import annotations

import pytest

from deployer.testing import ConformanceSuite


@pytest.mark.slow
class TestLangGraphConformance(ConformanceSuite):
    strategy = "langgraph"
    round_trip_options = {"target": "dev"}
    startup_timeout = 300.0
