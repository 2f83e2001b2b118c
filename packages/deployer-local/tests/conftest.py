"""The local strategy under test; core's pytest plugin ships the fixtures (`registry`,
`deployments`, `deployer_home`), made private for every test here."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.testing import write_solution

__all__ = ["write_solution"]


@pytest.fixture(scope="session")
def deployer_strategy() -> str:
    return "local"


@pytest.fixture(autouse=True)
def private_home(deployer_home: Path) -> Path:
    """Every test gets its own DEPLOYER_HOME."""
    return deployer_home
