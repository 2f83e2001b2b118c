"""End-to-end fixtures: a private DEPLOYER_HOME and a CLI that cleans up after itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer.testing import DeployerCli


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[DeployerCli]:
    runner = DeployerCli(tmp_path / "home")
    yield runner
    # never leave a server behind, whatever the test did
    listing = runner("ls", "--json")
    if listing.code == 0:
        for row in listing.json():
            runner("rm", row["name"], "--force")
