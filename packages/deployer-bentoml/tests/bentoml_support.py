"""Helpers shared by the deployer-bentoml tests (a unique module name across the repo)."""

from __future__ import annotations

import importlib.util
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
HAS_BENTOML = importlib.util.find_spec("bentoml") is not None
BENTOML_MISSING = "bentoml is not installed (pip install deployer-bentoml)"


def write_solution(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


def wait_until(condition: Callable[[], bool], limit: float = 30.0) -> bool:
    """Poll for an asynchronous effect (a process gone, a port closed)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
