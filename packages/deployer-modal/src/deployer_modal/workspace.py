"""Preparing the adapted copy: the deployment's resources and timeouts as Modal settings, in
`deployer_modal.json` beside `modal_app.py`.

Resources live in the RunnerContext, not in template placeholders, so both targets write them
into the workspace before each deploy (`prepare`). The file holds the Modal secret's name and
its keys, never its values: those reach Modal through the SDK only (see `secret_name`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployer.plugin import DeployFailedError, install_entry_loader

if TYPE_CHECKING:
    from deployer.plugin import RunInterface, RunnerContext

SETTINGS_FILE = "deployer_modal.json"
MAX_TIMEOUT = 86_400  # Modal's limit for a function's timeout, in seconds
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?)?B?\s*$", re.IGNORECASE)
_UNIT_MIB = {
    None: 1.0,  # a bare number is MiB, Modal's own unit
    "ki": 1 / 1024,
    "mi": 1.0,
    "gi": 1024.0,
    "ti": 1024.0**2,
    "k": 1e3 / 2**20,
    "m": 1e6 / 2**20,
    "g": 1e9 / 2**20,
    "t": 1e12 / 2**20,
}


def memory_mib(value: str | None) -> int | None:
    """'512Mi', '2Gi', '1G' or '1024' (MiB) as whole MiB, the unit Modal takes."""
    if value is None or not str(value).strip():
        return None
    match = _MEMORY.match(str(value))
    if not match:
        raise DeployFailedError(
            f"memory {value!r} is not a size Modal understands",
            hint="use e.g. 512Mi, 2Gi or 4G (a bare number means MiB)",
        )
    number, unit = float(match.group(1)), match.group(2)
    mib = math.ceil(number * _UNIT_MIB[unit.lower() if unit else None])
    if mib <= 0:
        raise DeployFailedError(f"memory {value!r} must be more than zero")
    return mib


def modal_gpu(value: str | None) -> str | None:
    """Modal's GPU string: a type ('T4', 'A100-80GB:2') as given; a bare count means any GPU."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    if text.isdigit():
        count = int(text)
        if count == 0:
            return None
        return "any" if count == 1 else f"any:{count}"
    return text


def secret_name(deployment: str, version: int = 1) -> str:
    """The Modal secret holding one version's env. Each version has its own, so deploying
    k+1 with another --env leaves what k reads alone until k+1 serves (and a rollback to k
    brings k's env back). Modal names are at most 64 characters."""
    suffix = f"-v{version}"
    name = f"deployer-{deployment}{suffix}"
    if len(name) <= 64:
        return name
    digest = hashlib.sha256(deployment.encode()).hexdigest()[:8]
    return f"deployer-{deployment[: 45 - len(suffix)]}-{digest}{suffix}"


def build(context: RunnerContext) -> dict[str, Any]:
    """What modal_app.py reads: resources, timeouts, the secret's name and keys (no values)."""
    resources = context.resources
    environment = str(context.options.get("environment") or "") or None
    return {
        "gpu": modal_gpu(resources.gpu),
        "cpu": resources.cpu,
        "memory": memory_mib(resources.memory),
        "timeout": max(1, min(MAX_TIMEOUT, math.ceil(context.run_timeout))),
        "startup_timeout": max(1, min(MAX_TIMEOUT, math.ceil(context.startup_timeout))),
        "secret": secret_name(context.name, context.version) if context.env else None,
        "secret_keys": sorted(context.env),
        "environment": environment,
    }


def write(workspace: Path, settings: dict[str, Any]) -> Path:
    path = workspace / SETTINGS_FILE
    path.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def prepare(context: RunnerContext) -> Path:
    """Write the settings of this deploy into the adapted workspace (before importing it),
    with core's serving runtime and the entry spec, through which modal_app.py loads the
    entry point (in the container: they travel in the image with the solution's code)."""
    install_entry_loader(context.adapted_path, context.run_interface)
    return write(context.adapted_path, build(context))


def is_modal_function(interface: RunInterface) -> bool:
    """Whether the entry point is a function of the solution's own Modal app (`@app.function`
    on `app = modal.App(...)`), detected or named with --entrypoint: the adapter records
    both as the entry kind modal_function."""
    return interface.entry_kind == "modal_function"
