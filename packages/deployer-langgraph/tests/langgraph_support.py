"""Helpers for deployer-langgraph's tests: example paths, real deployments that are always
removed, and a `langgraph dev` server started outside deployer (the cloud stand-in)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from deployer.deployment.factory import DeploymentFactory
from deployer.deployment.software import DeployedSoftware
from deployer.models import DeployConfig, SolutionResult
from deployer.plugin import free_port, spawn, terminate
from deployer.plugins.registry import StrategyRegistry
from deployer.testing import write_solution
from deployer_langgraph import availability
from deployer_langgraph.targets.dev import command, wait_ready

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
AGENT_EXAMPLE = EXAMPLES / "langgraph_agent"
FUNCTION_EXAMPLE = EXAMPLES / "hello"

__all__ = ["write_solution"]  # core's, re-exported for the tests here


def dev_missing() -> str | None:
    """Why `langgraph dev` cannot run here, or None."""
    found = availability.availability({"target": "dev"})
    return None if found.available else found.reason


def require_dev() -> None:
    """Skip (a failure under DEPLOYER_REQUIRE_REAL=1: callers carry @pytest.mark.real)."""
    reason = dev_missing()
    if reason:
        pytest.skip(f"langgraph dev is unavailable: {reason}")


class Deployments:
    """Deploys through the real factory and removes every deployment afterwards."""

    def __init__(self, registry: StrategyRegistry) -> None:
        self.registry = registry
        self.made: list[DeployedSoftware] = []

    def deploy(
        self,
        path: Path,
        *,
        name: str,
        options: dict[str, Any] | None = None,
        startup_timeout: float = 120.0,
        run_timeout: float = 60.0,
        entrypoint: str | None = None,
        env: dict[str, str] | None = None,
    ) -> DeployedSoftware:
        config = DeployConfig(
            solution=SolutionResult(code_path=path),
            strategy="langgraph",
            name=name,
            options=options or {},
            startup_timeout=startup_timeout,
            run_timeout=run_timeout,
            entrypoint=entrypoint,
            env=env or {},
        )
        software = DeploymentFactory(self.registry).create(config)
        self.made.append(software)
        return software

    def cleanup(self) -> None:
        for software in reversed(self.made):
            try:
                software.remove()
            except Exception as exc:  # keep removing the others
                print(f"cleanup of {software.name} failed: {exc}", file=sys.stderr)


class DevServer:
    """A `langgraph dev` process a test starts itself, outside deployer."""

    def __init__(self, workspace: Path, log_path: Path) -> None:
        self.workspace = workspace
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LOG_COLOR": "false"}
        args = command(sys.executable, self.port, allow_blocking=False)
        self.proc = spawn(args, cwd=workspace, env=env, log_path=log_path)

    def wait(self, timeout: float = 120.0) -> None:
        import httpx

        def probe() -> bool:
            return httpx.get(f"{self.url}/ok", timeout=2.0, trust_env=False).status_code == 200

        wait_ready(
            self.proc,
            name="stand-in",
            probe=probe,
            log_path=self.log_path,
            log_offset=0,
            timeout=timeout,
        )

    def stop(self) -> None:
        terminate(self.proc.pid, self.proc.pid, None, self.proc)


def run_python(code: str, cwd: Path, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Python in a fresh interpreter (generated modules import the solution by plain name)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
