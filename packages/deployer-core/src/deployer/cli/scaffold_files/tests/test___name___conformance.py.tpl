"""deployer's conformance kit run against this package."""

from __future__ import annotations

from deployer.testing import ConformanceSuite


class Test${class_name}Conformance(ConformanceSuite):
    strategy = "$name"
    # Options for the deploy/run/stop round trip ({}: the defaults). None for a target that
    # cannot run on a test machine (a cloud account): the round trip is then skipped.
    round_trip_options = {}
