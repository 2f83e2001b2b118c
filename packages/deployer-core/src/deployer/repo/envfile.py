"""Reading a dotenv file (`--env-file`) with python-dotenv's own parser, so quoting, `export`
prefixes and comments behave as in every other tool; a line it cannot parse is an error that
names the line, never a silent skip."""

from __future__ import annotations

import io
from pathlib import Path

from deployer.errors import InputError

KEY_PATTERN_TEXT = "[A-Za-z_][A-Za-z0-9_]*"


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE pairs of a dotenv file; values are secrets: they never appear in errors."""
    import re

    from dotenv.parser import parse_stream

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"env file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"env file {path} cannot be read: {type(exc).__name__}") from None
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            raise InputError(
                f"env file {path}, line {line}: not KEY=VALUE",
                hint="each line is KEY=VALUE (quotes, `export` and # comments allowed)",
            )
        if binding.key is None:
            continue  # a blank or comment line
        if not re.fullmatch(KEY_PATTERN_TEXT, binding.key):
            raise InputError(f"env file {path}, line {line}: {binding.key!r} is not a name")
        if binding.value is None:
            raise InputError(f"env file {path}, line {line}: {binding.key} has no value")
        values[binding.key] = binding.value
    return values
