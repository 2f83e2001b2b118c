"""deployer-ray against the conformance kit; the round trip on a private cluster (address=local)."""

from __future__ import annotations

from deployer.testing import ConformanceSuite


class TestRayConformance(ConformanceSuite):
    strategy = "ray"
    round_trip_options = {"address": "local", "num_cpus": 0.5}
    startup_timeout = 300.0
