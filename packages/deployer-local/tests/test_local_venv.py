"""The solution's own environment, built by the local runner for real (pip and an index)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from deployer.errors import DeployFailedError
from deployer.paths import cache_dir
from deployer.runtime.venvs import venv_python


def test_dependency_that_cannot_install(
    deployments, monkeypatch: pytest.MonkeyPatch, deployer_home: Path
) -> None:
    monkeypatch.setenv("PIP_RETRIES", "0")
    context = deployments.context(
        {
            "requirements.txt": "deployer-no-such-package-xyz==1.0\n",
            "main.py": "def predict():\n    return 1\n",
        }
    )
    runner = deployments.runner(context)
    with pytest.raises(DeployFailedError) as caught:
        runner.deploy()
    message = str(caught.value)
    assert "deployer-no-such-package-xyz==1.0" in message
    assert "install.log" in message
    log = (context.runtime_dir / "install.log").read_text()
    assert "deployer-no-such-package-xyz" in log
    assert not runner.state.get("pid")
    assert list(cache_dir("venvs").iterdir()) == []  # no half-made environment is cached


OFFLINE_SIGNS = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Failed to establish a new connection",
    "ConnectTimeoutError",
)


def skip_when_offline(exc: DeployFailedError, log: Path) -> None:
    """Skip (fail under DEPLOYER_REQUIRE_REAL=1) when pip cannot reach a package index."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    if any(sign in text for sign in OFFLINE_SIGNS):
        reason = f"no package index reachable to install python-slugify: {exc.message}"
        if os.environ.get("DEPLOYER_REQUIRE_REAL", "") not in {"", "0"}:
            pytest.fail(reason)
        pytest.skip(reason)
    raise exc


@pytest.mark.slow
@pytest.mark.real
def test_real_dependency_is_installed_and_the_venv_reused(deployments) -> None:
    files = {
        "requirements.txt": "python-slugify\n",
        "main.py": "from slugify import slugify\n\ndef predict(text):\n    return slugify(text)\n",
    }
    try:
        first = deployments.deploy(files, name="first")
    except DeployFailedError as exc:
        skip_when_offline(exc, Path(deployments.runners[-1].install_log))
    assert first.run({"text": "Hello, World!"}) == {"status": "success", "output": "hello-world"}
    venv = Path(first.state["venv"])
    assert venv.parent == cache_dir("venvs")
    script = venv_python(venv).parent / "slugify"  # console script, relocated with the venv
    assert str(venv_python(venv)) in script.read_text()
    done = subprocess.run([str(script), "Script Works"], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "script-works"

    second = deployments.deploy({**files, "extra.py": "X = 1\n"}, name="second")
    assert second.state["venv"] == first.state["venv"]
    log = (second.context.runtime_dir / "install.log").read_text()
    assert "reusing the cached environment" in log
    assert second.run({"text": "Ça va?"})["output"] == "ca-va"

    # A cached venv that disappeared is rebuilt when the deployment is started again.
    second.stop()
    first.stop()
    shutil.rmtree(venv)
    second.start()
    assert second.run({"text": "Back Again"})["output"] == "back-again"
