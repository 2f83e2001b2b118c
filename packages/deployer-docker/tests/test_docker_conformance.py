"""deployer's conformance kit run against the installed docker strategy (round trip on the
real engine, with the locally built base image and wheels from the host)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from deployer.testing import ConformanceSuite
from docker_support import Engine


class TestDockerConformance(ConformanceSuite):
    strategy = "docker"
    round_trip_options: ClassVar[dict[str, Any] | None] = {"wheelhouse": True}
    startup_timeout = 600.0
    # Each kind's round trip is an image build of its own (minutes here); the kinds are proven
    # on docker by test_docker_published.py (Cog class, Truss, FastAPI) and
    # test_docker_runtime.py instead, against the same engine.
    skip_entry_kinds = ("class", "graph", "asgi", "wsgi", "gradio", "modal_function")

    @pytest.fixture(autouse=True)
    def _engine(self, request: pytest.FixtureRequest) -> None:
        """Only the round trips need the engine; the packaging rules run without one."""
        if {"deployed", "streaming"} & set(request.fixturenames):
            engine: Engine = request.getfixturevalue("docker_engine")
            engine.tags.add("deployer/conformance:latest")
            self.round_trip_options = engine.options()
