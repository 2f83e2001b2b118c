"""Whether a Python module is installed, without importing it.

Availability checks run on every `deployer strategies`/`select`, so they must not import the
SDKs they look for: `importlib.util.find_spec("ray.serve")` imports the package `ray` to find
its submodule, which costs more than a second. Here only the top-level name goes through
`find_spec` (which imports nothing for a top-level module); submodules are looked up on the
parent's search path, on disk.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util


def module_installed(name: str) -> bool:
    """True when `name` (a dotted name is fine) can be imported; imports nothing."""
    head, *rest = name.split(".")
    try:
        spec = importlib.util.find_spec(head)
    except (ImportError, ValueError):
        return False
    prefix = head
    for part in rest:
        if spec is None or not spec.submodule_search_locations:
            return False
        prefix = f"{prefix}.{part}"
        spec = importlib.machinery.PathFinder.find_spec(
            prefix, list(spec.submodule_search_locations)
        )
    return spec is not None
