"""litellm is the optional extra `deployer-core[llm]`: without it everything offline works, and
asking for a model is one line naming the install command (exit code 3)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Runs the CLI in a fresh interpreter where `import litellm` fails, as on an install without
# the extra (sys.modules[name] = None is Python's own "not importable" marker).
WITHOUT_LITELLM = textwrap.dedent(
    """
    import sys
    sys.modules["litellm"] = None
    from deployer.cli.main import main
    sys.argv = ["deployer", *sys.argv[1:]]
    main()
    """
)


def cli(*args: str, home: Path, env_model: str | None = None) -> subprocess.CompletedProcess:
    env = {"DEPLOYER_HOME": str(home), "PATH": "/usr/bin:/bin", "DEPLOYER_STRATEGIES": "local"}
    if env_model:
        env["DEPLOYER_LLM_MODEL"] = env_model
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_LITELLM, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def solution(tmp_path: Path) -> Path:
    root = tmp_path / "hello"
    root.mkdir()
    (root / "main.py").write_text("def predict(name):\n    return {'hi': name}\n")
    return root


def test_offline_selection_works_without_litellm(tmp_path: Path, solution: Path) -> None:
    done = cli("select", str(solution), "--json", home=tmp_path / "home")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["strategy"] == "local"


@pytest.mark.parametrize("how", ["flag", "env"])
def test_asking_for_a_model_without_litellm_is_one_line_and_exit_3(
    tmp_path: Path, solution: Path, how: str
) -> None:
    args = ["select", str(solution)]
    if how == "flag":
        args += ["--model", "openai/gpt-4o-mini"]
    done = cli(
        *args, home=tmp_path / "home", env_model="openai/gpt-4o-mini" if how == "env" else None
    )
    assert done.returncode == 3
    assert "Traceback" not in done.stderr
    assert "the LLM extra (litellm) is not installed" in done.stderr
    assert 'pip install "deployer-core[llm]"' in done.stderr
