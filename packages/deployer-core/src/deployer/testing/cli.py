"""The `deployer` command run as its own process, the way a user runs it, for end-to-end tests.

Each call is a fresh `python -m deployer ...` with this interpreter, so a test sees exactly
what a user sees (exit code, stdout, stderr) and nothing leaks between calls through the test
process's imports or caches. State goes to a private DEPLOYER_HOME, never the user's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CliResult", "DeployerCli"]


@dataclass(frozen=True)
class CliResult:
    """What one command left behind: its exit code and everything it wrote."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout parsed as JSON (what `--json` and `run` print)."""
        return json.loads(self.out)


class DeployerCli:
    """Runs `python -m deployer ...` in a private DEPLOYER_HOME, every call its own process.

    `env` adds variables; `unset` names variables taken out of the inherited environment
    (by default DEPLOYER_STRATEGIES, so a developer's own restriction does not change what
    the tests see). `self.env` is the environment every call gets; a test may change it.
    """

    def __init__(
        self,
        home: Path,
        env: Mapping[str, str] | None = None,
        unset: Iterable[str] = ("DEPLOYER_STRATEGIES",),
    ) -> None:
        self.home = Path(home)
        inherited = dict(os.environ)
        for name in unset:
            inherited.pop(name, None)
        self.env: dict[str, str] = {**inherited, **(env or {}), "DEPLOYER_HOME": str(self.home)}

    def __call__(
        self,
        *args: str,
        stdin: str | None = None,
        timeout: float = 300,
        cwd: Path | None = None,
    ) -> CliResult:
        """Run one command to its end; `timeout` bounds a hung command (it raises)."""
        proc = subprocess.run(
            _command(args),
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    def popen(self, *args: str, **popen_kwargs: Any) -> subprocess.Popen[str]:
        """Start a command in the background (`deploy`, `dev`, `logs -f`) with the same
        environment; `popen_kwargs` go to `subprocess.Popen` (text mode unless told)."""
        popen_kwargs.setdefault("env", self.env)
        popen_kwargs.setdefault("text", True)
        return subprocess.Popen(_command(args), **popen_kwargs)


def _command(args: Iterable[str]) -> list[str]:
    return [sys.executable, "-m", "deployer", *args]
