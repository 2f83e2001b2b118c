"""Can the $name strategy work here? Standard library only: never import the platform SDK
here (listing strategies must stay fast and must work where the SDK is not installed)."""

from __future__ import annotations

from deployer.plugin import Availability


def check(options: dict[str, object]) -> Availability:
    """Check what config.yaml's `requirements` cannot express (a daemon that must answer, a
    credential file). Return Availability(False, reason, hint) with a hint that says what
    to do."""
    return Availability(True)
