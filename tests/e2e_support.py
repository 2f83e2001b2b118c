"""Helpers for the end-to-end tests. The `deployer` command itself runs through core's
`deployer.testing.DeployerCli` (the `cli` fixture in conftest.py)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def fake_distribution(
    site: Path, dist_name: str, package: str, files: dict[str, str], entry_name: str
) -> None:
    """A distribution laid out as pip leaves it: the package plus a .dist-info whose
    entry_points.txt registers it, so importlib.metadata finds it on sys.path."""
    for relative, text in files.items():
        path = site / package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    info = site / f"{dist_name.replace('-', '_')}-0.3.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 0.3.0\n")
    (info / "entry_points.txt").write_text(f"[deployer.strategies]\n{entry_name} = {package}\n")


def scaffold_files(root: Path) -> dict[str, str]:
    """The files of a scaffolded package's import package, relative to it."""
    package = next((root / "src").iterdir())
    return {str(p.relative_to(package)): p.read_text() for p in package.rglob("*") if p.is_file()}


# A small working runner for a scaffolded strategy: each call runs the rendered entry script
# as a command-line subprocess, input on stdin and output on stdout.
CMDLINE_RUNNER = '''\
"""Runs the solution's entry point as a command-line subprocess per call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from deployer.runtime.runner import Runner, failure, success

# The entry point named in the workspace's deployer_entry.json (the scaffold's template),
# called once per process with the JSON input on stdin.
CALL = """
import importlib, json, sys
spec = json.load(open("deployer_entry.json"))
module, _, name = spec["entrypoint"].partition(":")
sys.path.insert(0, ".")
entry = getattr(importlib.import_module(module), name)
inputs = json.load(sys.stdin)
print(json.dumps(entry(inputs) if spec.get("calling_convention") == "dict" else entry(**inputs)))
"""


class {class_name}Runner(Runner):
    def deploy(self) -> None:
        self.state["running"] = True

    def stop(self) -> None:
        self.state["running"] = False

    def is_healthy(self) -> bool:
        return bool(self.state.get("running"))

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if not self.state.get("running"):
            return failure(f"deployment {{self.context.name}} is stopped")
        proc = subprocess.run(
            [sys.executable, "-c", CALL],
            input=json.dumps(inputs),
            cwd=self.context.adapted_path,
            capture_output=True,
            text=True,
            timeout=self.context.run_timeout,
            env={{**os.environ, **self.context.env}},
        )
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines() or ["no output"]
            return failure(lines[-1])
        return success(json.loads(proc.stdout))
'''
