"""Names a package face loads on first use: the module `__getattr__` of `deployer`,
`deployer.plugin` and `deployer.testing`. Standard library only, so importing a face stays
cheap."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from importlib import import_module
from typing import Any


def lazy_getattr(
    face: str, names: Mapping[str, str], namespace: MutableMapping[str, Any]
) -> Callable[[str], Any]:
    """A module `__getattr__` for `face`: `names` maps each public name to the module that
    defines it; a loaded name is stored in `namespace` (the face's globals()), so it loads once."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {face!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
