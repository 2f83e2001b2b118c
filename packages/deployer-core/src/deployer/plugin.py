"""The one module a strategy package imports: everything a strategy author needs from core.

A strategy is a pip package `deployer-<name>` with an entry point in the group
`deployer.strategies`. Its `__init__.py` holds hook implementations only::

    from deployer.plugin import StrategyPackage, hookimpl

    @hookimpl
    def deployer_register_strategy() -> StrategyPackage:
        return StrategyPackage(name="mycloud", package=__name__)

Its runner (named in config.yaml as `"deployer_mycloud.runner:MyCloudRunner"`) subclasses one
of the runner bases here::

    from deployer.plugin import Runner, failure, success

    class MyCloudRunner(Runner):
        def deploy(self) -> None: ...
        def stop(self) -> None: ...
        def run(self, inputs): return success({"echo": inputs})
        def is_healthy(self) -> bool: return True

Importing this module is cheap (pluggy only): every other name is loaded on first use, so a
plugin's `__init__` never pulls in pydantic models, httpx or a platform SDK by accident.
"""

from __future__ import annotations

from deployer.lazy import lazy_getattr
from deployer.plugins.hookspecs import Availability, CodingAgentSpec, StrategyPackage, hookimpl

_LAZY: dict[str, str] = {
    # the runner contract
    "Runner": "deployer.runtime.runner",
    "RunnerContext": "deployer.runtime.runner",
    "RunnerStatus": "deployer.runtime.runner",
    "Readiness": "deployer.runtime.runner",
    "Connection": "deployer.runtime.runner",
    "static_schema": "deployer.runtime.runner",
    "static_input_problem": "deployer.runtime.runner",
    "success": "deployer.runtime.runner",
    "failure": "deployer.runtime.runner",
    "tail_lines": "deployer.runtime.runner",
    # runner bases and the HTTP envelope client
    "ProcessServerRunner": "deployer.runtime.server",
    "EnvelopeClient": "deployer.runtime.http",
    "is_envelope": "deployer.runtime.http",
    "SERVED_PATHS": "deployer.runtime.http",
    "probe": "deployer.runtime.probe",
    "ProbeError": "deployer.runtime.probe",
    # typed inputs, validated the way the serving runtime validates them
    "validator_for": "deployer.runtime.serving.schema",
    "plain": "deployer.runtime.serving.encode",
    # data
    "RunInterface": "deployer.models",
    "Resources": "deployer.models",
    "Parameter": "deployer.models",
    # errors
    "DeployerError": "deployer.errors",
    "DeployFailedError": "deployer.errors",
    "PortInUseError": "deployer.errors",
    "RunnerError": "deployer.errors",
    "StrategyUnavailableError": "deployer.errors",
    "AdaptationError": "deployer.errors",
    "PortRaceError": "deployer.errors",
    "one_line": "deployer.errors",
    "raised_at": "deployer.errors",
    # processes
    "spawn": "deployer.runtime.processes",
    "port_taken": "deployer.runtime.processes",
    "descendants": "deployer.runtime.processes",
    "terminate": "deployer.runtime.processes",
    "is_alive": "deployer.runtime.processes",
    "pid_start_time": "deployer.runtime.processes",
    "wait_until_ready": "deployer.runtime.processes",
    "read_tail": "deployer.runtime.processes",
    "log_excerpt": "deployer.runtime.processes",
    "root_cause": "deployer.runtime.processes",
    "missing_module_hint": "deployer.runtime.processes",
    "log_size": "deployer.runtime.processes",
    "check_port_free": "deployer.runtime.processes",
    "port_in_use_error": "deployer.runtime.processes",
    "free_port": "deployer.runtime.processes",
    "exit_reason": "deployer.runtime.processes",
    # environments
    "ensure_venv": "deployer.runtime.venvs",
    "default_python": "deployer.runtime.venvs",
    "venv_python": "deployer.runtime.venvs",
    "is_usable": "deployer.runtime.venvs",
    "site_dirs": "deployer.runtime.venvs",
    "read_dependencies": "deployer.runtime.venvs",
    "Dependencies": "deployer.runtime.venvs",
    "failed_requirement": "deployer.runtime.venvs",
    "pip_error_lines": "deployer.runtime.venvs",
    "require_pip": "deployer.runtime.venvs",
    # requirements (one packaging-based reader)
    "read_requirements": "deployer.repo.requirements",
    "RequirementsError": "deployer.repo.requirements",
    "manifest_requirements": "deployer.repo.project",
    "project_install": "deployer.repo.project",
    "dependency_manifest": "deployer.repo.project",
    # which files of a solution ship (one rule set: defaults, .gitignore, .dockerignore...)
    "IgnoreRules": "deployer.repo.ignore",
    # workspaces and templates
    "install_serving_runtime": "deployer.runtime.serving_install",
    "install_entry_loader": "deployer.runtime.serving_install",
    "render_templates": "deployer.adapter.templates",
    "TEMPLATE_SUFFIX": "deployer.adapter.templates",
    "walk_files": "deployer.plugins.resources",
    "module_installed": "deployer.modules",
    "module_file": "deployer.repo.entrypoints",
    "template_context": "deployer.adapter.templates",
    "cache_dir": "deployer.paths",
    "deployment_dir": "deployer.paths",
}

__all__ = ["Availability", "CodingAgentSpec", "StrategyPackage", "hookimpl", *_LAZY]


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(__all__)
