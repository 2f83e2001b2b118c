"""Copying package data trees (templates) out of a plugin, file by file.

On Python 3.11 `importlib.resources.as_file()` does not accept a directory, and a plugin may be
installed as a zip or wheel, so templates are walked as Traversables and written one by one.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.abc import Traversable


def walk_files(root: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    """Yield (relative posix path, resource) for every file under root, sorted."""
    for child in sorted(root.iterdir(), key=lambda item: item.name):
        if child.name == "__pycache__":
            continue
        relative = f"{prefix}{child.name}"
        if child.is_dir():
            yield from walk_files(child, prefix=f"{relative}/")
        elif child.is_file():
            yield relative, child
