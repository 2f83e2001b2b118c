"""deployer's conformance kit run against this package."""

from __future__ import annotations

from deployer.testing import ConformanceSuite


class Test${class_name}Conformance(ConformanceSuite):
    strategy = "$name"
    # Options for the deploy/run/stop round trip. None until the runner is implemented;
    # then {} (or the options that make it run on a test machine).
    round_trip_options = None
