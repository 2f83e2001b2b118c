"""deployer: turn a code repository into running software behind `software.run(inputs)`.

Importing `deployer` stays cheap (pluggy and pydantic only): plugins import it for `hookimpl`
and `StrategyPackage`, and the CLI must answer `--help` quickly. Everything else is loaded on
first use through `__getattr__`.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from deployer.hookspecs import Availability, CodingAgentSpec, StrategyPackage, hookimpl

__version__ = "0.1.0"

_LAZY = {
    "AdaptationResult": "deployer.models",
    "DeployConfig": "deployer.models",
    "DeploymentInfo": "deployer.models",
    "DeploymentSetting": "deployer.models",
    "Resources": "deployer.models",
    "RunInterface": "deployer.models",
    "SolutionResult": "deployer.models",
    "StrategyScore": "deployer.models",
    "StrategyConfig": "deployer.strategy_config",
    "StrategyRegistry": "deployer.registry",
    "SelectorAgent": "deployer.selector",
    "AdapterAgent": "deployer.adapter",
    "Runner": "deployer.runner",
    "RunnerContext": "deployer.runner",
    "DeployedSoftware": "deployer.software",
    "DeploymentFactory": "deployer.factory",
    "deploy": "deployer.factory",
    "attach": "deployer.factory",
    "DeployerError": "deployer.errors",
}

__all__ = ["Availability", "CodingAgentSpec", "StrategyPackage", "hookimpl", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'deployer' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
