"""The entry spec `deployer_entry.json`: core's RunInterface fields (unknown ones ignored)."""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any

KINDS = ("function", "class", "graph", "asgi", "wsgi", "modal_function", "gradio")


class SpecError(ValueError):
    """The spec file is missing or malformed; the message says which field and what to write."""


@dataclasses.dataclass
class EntrySpec:
    entrypoint: str
    entry_kind: str = "function"
    flavor: str | None = None
    method: str | None = None
    setup: list[str] = dataclasses.field(default_factory=list)
    route: str | None = None
    calling_convention: str = "kwargs"
    signature: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Any) -> EntrySpec:
        if not isinstance(data, dict):
            raise SpecError("the entry spec must be a JSON object")
        entrypoint = data.get("entrypoint")
        if not isinstance(entrypoint, str) or ":" not in entrypoint:
            raise SpecError("the entry spec needs 'entrypoint': 'module:name'")
        kind = data.get("entry_kind") or "function"
        if kind not in KINDS:
            raise SpecError(f"entry_kind {kind!r} is not one of {', '.join(KINDS)}")
        convention = data.get("calling_convention") or "kwargs"
        if convention not in ("dict", "kwargs"):
            raise SpecError("calling_convention must be 'dict' or 'kwargs'")
        setup = data.get("setup") or []
        if not isinstance(setup, list) or not all(isinstance(s, str) for s in setup):
            raise SpecError("setup must be a list of method names")
        signature = data.get("signature") or []
        if not isinstance(signature, list) or not all(isinstance(s, dict) for s in signature):
            raise SpecError("signature must be a list of objects")
        for field in ("flavor", "method", "route"):
            if data.get(field) is not None and not isinstance(data.get(field), str):
                raise SpecError(f"{field} must be a string or null")
        return cls(
            entrypoint=entrypoint,
            entry_kind=kind,
            flavor=data.get("flavor"),
            method=data.get("method"),
            setup=list(setup),
            route=data.get("route"),
            calling_convention=convention,
            signature=list(signature),
        )


def read_spec(path: pathlib.Path) -> EntrySpec:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"no entry spec at {path.name}: write it or pass --entrypoint") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read the entry spec {path.name}: {exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SpecError(f"the entry spec {path.name} is not valid JSON: {exc}") from None
    return EntrySpec.from_dict(data)
