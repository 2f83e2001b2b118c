"""Helpers shared by deployer-modal's tests (a module, so test files can import them)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from deployer.testing import write_solution

__all__ = ["EXAMPLES", "FAKE_API", "cloud_ready", "files_under", "write_solution"]

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
FAKE_API = Path(__file__).with_name("fake_modal_api.py")


def files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.exists():
            yield from (p for p in root.rglob("*") if p.is_file())


def cloud_ready() -> str | None:
    """Why the cloud-only tests cannot run here, or None."""
    if os.environ.get("DEPLOYER_MODAL_CLOUD") != "1":
        return "needs a Modal account: set DEPLOYER_MODAL_CLOUD=1 with a Modal token to run"
    from deployer_modal.availability import missing_credentials

    return missing_credentials()
