"""Outputs to JSON, the same way on every strategy.

Every JSON value as is; dataclasses and pydantic models as objects; numpy scalars and arrays as
numbers and lists; bytes as a base64 string; a `pathlib.Path` as {"name", "content_base64"} (the
file's contents); sets and tuples as lists; enums by value; dates as ISO strings. NaN and
Infinity are refused (they are not JSON): the answer is an error envelope naming where.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import decimal
import enum
import json
import math
import pathlib
import uuid
from typing import Any


class EncodeError(ValueError):
    """The output cannot be represented as JSON; the message names what and where."""


def _default(value: Any) -> Any:
    """json.dumps' hook for everything that is not a plain JSON value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return dump()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, pathlib.PurePath):
        return _file(pathlib.Path(value))
    if isinstance(value, set | frozenset):
        return list(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and hasattr(value, "dtype"):
        return tolist()
    raise EncodeError(f"an object of type {type(value).__qualname__} is not JSON-serialisable")


def _file(path: pathlib.Path) -> dict[str, str]:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise EncodeError(f"the output file {path.name!r} cannot be read: {exc.strerror}") from None
    return {"name": path.name, "content_base64": base64.b64encode(content).decode("ascii")}


def dumps(payload: Any) -> bytes:
    """`payload` as compact UTF-8 JSON; EncodeError naming the offending type or value."""
    try:
        return _ENCODER.encode(payload).encode()
    except EncodeError:
        raise
    except RecursionError:
        raise EncodeError("the output is nested too deeply to serialise") from None
    except ValueError:
        inner = (
            payload.get("output") if isinstance(payload, dict) and "status" in payload else payload
        )
        where = _find_non_finite(inner, "output")
        raise EncodeError(
            f"the output contains {where or 'NaN or Infinity'}, which JSON cannot represent"
        ) from None
    except TypeError as exc:
        raise EncodeError(f"the output is not JSON-serialisable: {exc}") from None


def plain(value: Any) -> Any:
    """`value` as the plain JSON value a caller over HTTP would receive (numpy, dataclasses,
    pydantic, bytes, paths converted the same way): for callers in the same process."""
    return json.loads(dumps(value))


def _find_non_finite(value: Any, path: str, depth: int = 0) -> str | None:
    """Where the first NaN/Infinity sits, as `NaN at output['a'][2]`."""
    if depth > 200:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{float(value)!r} at {path}"
    if isinstance(value, dict):
        for key, item in value.items():
            found = _find_non_finite(item, f"{path}[{key!r}]", depth + 1)
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _find_non_finite(item, f"{path}[{index}]", depth + 1)
            if found:
                return found
        return None
    if isinstance(value, str | int | bool) or value is None:
        return None
    try:
        converted = _default(value)
    except EncodeError:
        return None
    return _find_non_finite(converted, path, depth + 1)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# Built once: json.dumps/json.loads with arguments build a new encoder/decoder every call.
_ENCODER = json.JSONEncoder(default=_default, allow_nan=False, ensure_ascii=False)
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def loads(body: bytes) -> Any:
    """Parse a UTF-8 request body; NaN/Infinity are refused as they are in outputs."""
    return _DECODER.decode(body.decode("utf-8"))
