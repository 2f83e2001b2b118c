"""Helpers shared by the deployer-bentoml tests (a unique module name across the repo)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from deployer.testing import write_solution

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
HAS_BENTOML = importlib.util.find_spec("bentoml") is not None
BENTOML_MISSING = "bentoml is not installed (pip install deployer-bentoml)"

__all__ = ["BENTOML_MISSING", "EXAMPLES", "HAS_BENTOML", "write_solution"]
