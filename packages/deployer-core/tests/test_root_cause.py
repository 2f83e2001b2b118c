"""An import failure leads with its root cause and names where the dependency belongs."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.repo.project import dependency_manifest
from deployer.runtime.processes import missing_module_hint, root_cause

CHAINED = """\
Traceback (most recent call last):
  File "/w/main.py", line 1, in <module>
    import slugify
ModuleNotFoundError: No module named 'slugify'

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/w/deployer_runtime/loader.py", line 76, in import_entrypoint
deployer_runtime.loader.ImportFailed: ModuleNotFoundError: No module named 'slugify'
"""


def test_root_cause_is_the_first_exception_of_the_chain() -> None:
    assert root_cause(CHAINED) == "ModuleNotFoundError: No module named 'slugify'"
    assert root_cause("starting\nKeyError: 'x'\n") == "KeyError: 'x'"
    assert root_cause("no traceback here\n") is None
    assert root_cause("  ValueError: indented is a quoted line, not an exception\n") is None


def test_missing_module_hint_names_the_manifest() -> None:
    hint = missing_module_hint("ModuleNotFoundError: No module named 'slugify.x'", "cog.yaml x")
    assert hint is not None and "'slugify'" in hint and "cog.yaml x" in hint
    assert "requirements.txt" in (missing_module_hint("No module named 'a'") or "")
    assert missing_module_hint("KeyError: 'x'") is None
    assert missing_module_hint(None) is None


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"requirements.txt": "x\n", "cog.yaml": "build:\n  python_packages: [y]\n"},
         "requirements.txt"),
        ({"cog.yaml": "build:\n  python_packages:\n    - requests\npredict: p.py:P\n"},
         "cog.yaml build.python_packages"),
        ({"pyproject.toml": "[project]\nname = 'a'\nversion = '1'\n"},
         "pyproject.toml [project] dependencies"),
        ({"main.py": "x = 1\n"}, None),
    ],
)  # fmt: skip
def test_dependency_manifest(tmp_path: Path, files: dict[str, str], expected: str | None) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert dependency_manifest(tmp_path) == expected
