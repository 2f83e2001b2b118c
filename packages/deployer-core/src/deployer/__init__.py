"""deployer: turn a code repository into running software behind `software.run(inputs)`.

Importing `deployer` costs nothing: every public name is loaded on first use through
`__getattr__`, so `import deployer.repo.digest` or the CLI's `--help` never pulls in pydantic
models, pluggy, yaml or a strategy. Strategy packages import from `deployer.plugin` instead.

Where things live (one folder per pipeline stage; see docs/architecture.md):
`plugins/` registry and config.yaml schema, `repo/` the read-only solution, `selector/`,
`adapter/`, `runtime/` runner bases, processes and environments, `deploy/` factory, software and
state, `cli/`, `llm/`; `models.py` and `errors.py` at the bottom.
"""

from __future__ import annotations

from deployer.lazy import lazy_getattr

__version__ = "0.1.0"

_LAZY = {
    "Availability": "deployer.plugins.hookspecs",
    "CodingAgentSpec": "deployer.plugins.hookspecs",
    "StrategyPackage": "deployer.plugins.hookspecs",
    "hookimpl": "deployer.plugins.hookspecs",
    "AdaptationResult": "deployer.models",
    "DeployConfig": "deployer.models",
    "DeploymentInfo": "deployer.models",
    "DeploymentSetting": "deployer.models",
    "Parameter": "deployer.models",
    "Resources": "deployer.models",
    "RunInterface": "deployer.models",
    "SolutionResult": "deployer.models",
    "StrategyScore": "deployer.models",
    "StrategyConfig": "deployer.plugins.strategy_config",
    "StrategyRegistry": "deployer.plugins.registry",
    "SelectorAgent": "deployer.selector.agent",
    "AdapterAgent": "deployer.adapter.agent",
    "Runner": "deployer.runtime.runner",
    "RunnerContext": "deployer.runtime.runner",
    "DeployedSoftware": "deployer.deployment.software",
    "DeploymentFactory": "deployer.deployment.factory",
    "DeploymentPlan": "deployer.deployment.plan",
    "deploy": "deployer.deployment.factory",
    "attach": "deployer.deployment.factory",
    "DeployerError": "deployer.errors",
}

__all__ = ["__version__", *_LAZY]


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(__all__)
