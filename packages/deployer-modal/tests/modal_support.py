"""Helpers shared by deployer-modal's tests (a module, so test files can import them)."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
FAKE_API = Path(__file__).with_name("fake_modal_api.py")


def write_solution(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


def files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.exists():
            yield from (p for p in root.rglob("*") if p.is_file())


def cloud_ready() -> str | None:
    """Why the cloud-only tests cannot run here, or None."""
    if os.environ.get("DEPLOYER_MODAL_CLOUD") != "1":
        return "needs a Modal account: set DEPLOYER_MODAL_CLOUD=1 with a Modal token to run"
    from deployer_modal.credentials import missing_credentials

    return missing_credentials()
