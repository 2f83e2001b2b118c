"""`deployer_runtime.embedded`, the runtime's loader for hosts that serve requests themselves
(the bentoml, langgraph and modal wrappers), and `install_entry_loader`, which puts it and the
entry spec into a workspace. Each check runs in a fresh interpreter importing the workspace's
own copy, as those wrappers do."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from deployer.models import RunInterface
from deployer.runtime.serving import PACKAGE_NAME, SPEC_FILE
from deployer.runtime.serving_install import install_entry_loader, serving_runtime_files
from deployer.testing import write_solution

COUNTER_CLASS = """
import dataclasses


@dataclasses.dataclass
class Answer:
    text: str
    setups: int


class Counter:
    setups = 0

    def setup(self):
        type(self).setups += 1
        self.prefix = "ok:"

    def predict(self, text: str, times: int = 1) -> Answer:
        return Answer(self.prefix + text * times, type(self).setups)
"""


def workspace(tmp_path: Path, files: dict[str, str], **interface: Any) -> Path:
    root = write_solution(tmp_path / "ws", files)
    install_entry_loader(root, RunInterface(**interface))
    return root


def run_script(root: Path, script: str) -> list[Any]:
    """Run `script` in a fresh interpreter with `root` on sys.path; its printed JSON lines."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_install_entry_loader_writes_the_runtime_and_the_spec(tmp_path: Path) -> None:
    root = write_solution(tmp_path / "ws", {"main.py": "def f(x):\n    return x\n"})
    interface = RunInterface(entrypoint="main:Counter", entry_kind="class", flavor="plain")
    written = install_entry_loader(root, interface)
    assert written == [*(f"{PACKAGE_NAME}/{n}" for n in serving_runtime_files()), SPEC_FILE]
    assert "embedded.py" in serving_runtime_files()
    assert json.loads((root / SPEC_FILE).read_text()) == interface.model_dump(mode="json")
    again = RunInterface(entrypoint="main:f")
    install_entry_loader(root, again)  # a redeploy replaces the spec
    assert json.loads((root / SPEC_FILE).read_text())["entrypoint"] == "main:f"


def test_a_class_is_set_up_once_and_answers_json(tmp_path: Path) -> None:
    root = workspace(
        tmp_path, {"model.py": COUNTER_CLASS}, entrypoint="model:Counter", entry_kind="class"
    )
    out = run_script(
        root,
        """
        import json
        from deployer_runtime.embedded import BadInput, load, read_kind

        print(json.dumps([read_kind(".")]))
        lazy = load(".", start=False)
        print(json.dumps([lazy.kind, lazy.entrypoint, lazy.input_schema()["required"]]))
        entry = load(".")
        print(json.dumps(entry({"text": "a", "times": 2})))
        print(json.dumps(entry({"text": "b"})))
        for bad in ({"text": 1}, {"txt": "a"}, ["a"]):
            try:
                entry(bad)
            except BadInput as exc:
                print(json.dumps({"error": str(exc), "field": exc.field}))
        """,
    )
    assert out[0] == ["class"]
    assert out[1] == ["class", "model:Counter", ["text"]]
    assert out[2] == {"text": "ok:aa", "setups": 1}  # a dataclass, as the local server sends it
    assert out[3] == {"text": "ok:b", "setups": 1}  # set up once, not per call
    assert out[4]["field"] == "text" and "text" in out[4]["error"]
    assert out[5]["field"] == "txt" and "unknown field" in out[5]["error"]
    assert out[6] == {"error": "inputs must be a JSON object, got list", "field": None}


def test_coroutines_generators_and_unserialisable_outputs(tmp_path: Path) -> None:
    files = {
        "fns.py": """
        import asyncio


        async def later(x: int) -> int:
            await asyncio.sleep(0)
            return x + 1


        def count(n: int):
            for i in range(n):
                yield {"i": i}


        def nan(x: float) -> float:
            return float("nan")
        """
    }
    root = workspace(tmp_path, files, entrypoint="fns:later")
    out = run_script(
        root,
        """
        import json
        from deployer_runtime.embedded import EncodeError, load, to_json

        print(json.dumps(load(".")({"x": 1})))
        counter = load(".", entrypoint="fns:count")
        print(json.dumps([counter({"n": 3}), list(counter.stream({"n": 2}))]))
        try:
            load(".", entrypoint="fns:nan")({"x": 1.0})
        except EncodeError as exc:
            print(json.dumps({"error": str(exc)}))
        print(json.dumps([to_json(b"hi"), to_json({1, 1})]))
        """,
    )
    assert out[0] == 2
    assert out[1] == [[{"i": 0}, {"i": 1}, {"i": 2}], [{"i": 0}, {"i": 1}]]
    assert "NaN" in out[2]["error"] or "nan" in out[2]["error"].lower()
    assert out[3] == ["aGk=", [1]]


def test_a_missing_module_is_the_loaders_import_error(tmp_path: Path) -> None:
    root = workspace(tmp_path, {"main.py": "import not_installed_anywhere\n"}, entrypoint="main:f")
    out = run_script(
        root,
        """
        import json
        from deployer_runtime.embedded import ImportFailed, load

        try:
            load(".")
        except ImportFailed as exc:
            print(json.dumps({"error": str(exc), "root": type(exc.root).__name__}))
        """,
    )
    assert out == [
        {
            "error": "ModuleNotFoundError: No module named 'not_installed_anywhere'",
            "root": "ModuleNotFoundError",
        }
    ]
