"""The run interface a coding agent declares at the end of its output.

    <run_interface>{"kind": "function", "entrypoint": "module:function",
                    "calling_convention": "dict"}</run_interface>

The last such block in the output counts. Its JSON is validated by `DeclaredRunInterface`;
a missing block, bad JSON or a failed validation raises `RunInterfaceError` with a message
meant to be shown to the agent in its one correction round.
"""

from __future__ import annotations

import json
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from deployer.models import ENTRYPOINT_PATTERN

BLOCK = re.compile(r"<run_interface>(.*?)</run_interface>", re.DOTALL | re.IGNORECASE)
FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)

EXAMPLE = (
    '<run_interface>{"kind": "function", "entrypoint": "module:function", '
    '"calling_convention": "dict"}</run_interface>'
)
HELP = f"""\
End your output with the run interface, exactly in this form (one line, valid JSON inside):
{EXAMPLE}
- "entrypoint": "module:function", importable from the workspace root (module may be dotted);
- "calling_convention": "dict" if the function takes the input dict as its one parameter
  (named `inputs` or typed dict), "kwargs" if it takes the input's keys as keyword arguments;
- "kind": "function" (or "http" if the strategy serves HTTP), optional "http_path" and
  optional "endpoint" (a URL, only if you started a server that stays up)."""


class RunInterfaceError(ValueError):
    """The agent's run interface is missing or invalid."""


class DeclaredRunInterface(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["function", "http"] = "function"
    entrypoint: str
    calling_convention: Literal["dict", "kwargs"] = "kwargs"
    parameters: list[str] | None = None
    http_path: str | None = None
    endpoint: str | None = Field(default=None, pattern=r"^https?://\S+$")

    @field_validator("entrypoint")
    @classmethod
    def _shape(cls, value: str) -> str:
        if not ENTRYPOINT_PATTERN.fullmatch(value):
            raise ValueError("must look like 'module:function'")
        return value


def parse_run_interface(output: str) -> DeclaredRunInterface:
    blocks = BLOCK.findall(output)
    if not blocks:
        raise RunInterfaceError(
            "the output does not end with a <run_interface>{...}</run_interface> block"
        )
    raw = blocks[-1].strip()
    fenced = FENCE.match(raw)
    if fenced:
        raw = fenced.group(1)
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise RunInterfaceError(f"the <run_interface> block is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RunInterfaceError("the <run_interface> block must hold a JSON object")
    try:
        return DeclaredRunInterface.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'run_interface'}: {err['msg']}"
            for err in exc.errors()[:5]
        )
        raise RunInterfaceError(f"the run interface is invalid ({problems})") from None
