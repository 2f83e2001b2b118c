"""The serving runtime: one standard-library HTTP server for every deployment served over HTTP.

This package is copied into an adapted workspace as the top-level package `deployer_runtime`
and runs in the solution's own environment (`python -m deployer_runtime serve`), where deployer
is not installed. So it imports only the standard library and itself (relatively); optional
libraries (numpy, pydantic) are imported inside try/except, only to serialise their objects.
"""

PACKAGE_NAME = "deployer_runtime"
SPEC_FILE = "deployer_entry.json"
