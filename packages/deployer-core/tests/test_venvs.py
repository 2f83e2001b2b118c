"""The solution's own virtual environment: parsing, caching and install failures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deployer.runtime import venvs
from deployer.runtime.venvs import (
    cache_key,
    install_error,
    interpreter_version,
    normalise_requirement,
    read_dependencies,
)


def test_normalise_requirement() -> None:
    assert normalise_requirement("Python_Slugify >= 8.0") == "python-slugify >= 8.0"
    assert normalise_requirement("  requests[socks]==2.*  ") == "requests[socks]==2.*"
    assert normalise_requirement("--index-url https://x/simple") == "--index-url https://x/simple"


def test_read_dependencies(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "# comment\nRequests==2.0  # pinned\n\npython_slugify\n", encoding="utf-8"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "0"\ndependencies = ["text-unidecode>=1"]\n',
        encoding="utf-8",
    )
    deps = read_dependencies(tmp_path)
    assert deps.requirements_file == tmp_path / "requirements.txt"
    assert deps.packages == ["text-unidecode>=1"]
    assert deps.normalised == ["python-slugify", "requests==2.0", "text-unidecode>=1"]
    assert not deps.local


def test_local_requirements_are_not_shared(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for root in (one, two):
        root.mkdir()
        (root / "requirements.txt").write_text("-e ./vendored\n", encoding="utf-8")
    assert read_dependencies(one).local
    python = sys.executable
    assert cache_key(python, read_dependencies(one), one) != cache_key(
        python, read_dependencies(two), two
    )


def test_same_dependencies_share_a_key(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "requirements.txt").write_text("B\nA==1\n", encoding="utf-8")
    (two / "requirements.txt").write_text("a==1\n# other comment\nb\n", encoding="utf-8")
    python = sys.executable
    assert cache_key(python, read_dependencies(one), one) == cache_key(
        python, read_dependencies(two), two
    )


def test_install_error_names_the_requirement() -> None:
    output = (
        "ERROR: Could not find a version that satisfies the requirement foo-bar==9.9 "
        "(from versions: none)\nERROR: No matching distribution found for foo-bar==9.9\n"
    )
    error = install_error(output, Path("/logs/install.log"))
    assert "cannot install 'foo-bar==9.9'" in error.message
    assert "/logs/install.log" in str(error)
    other = install_error("Collecting x\nsomething odd happened\n", Path("/l"))
    assert "something odd happened" in other.message


@pytest.mark.slow
def test_layered_venv_sees_the_parent_site_and_is_cached_separately(
    tmp_path: Path, home: Path
) -> None:
    """A layered environment imports what deployer's own interpreter has (here: pydantic)
    without installing it, and is keyed apart from a plain one."""
    from deployer.runtime.venvs import ensure_venv, site_dirs, venv_python

    root = tmp_path / "sol"
    root.mkdir()
    (root / "requirements.txt").write_text("# nothing to install\n")
    log = tmp_path / "install.log"
    plain = ensure_venv(root, sys.executable, log, cache="t-plain")
    layered = ensure_venv(root, sys.executable, log, inherit_site=site_dirs(), cache="t-layer")
    assert plain != layered
    probe = [str(venv_python(layered)), "-c", "import pydantic; print(pydantic.__name__)"]
    assert subprocess.run(probe, capture_output=True, text=True).stdout.strip() == "pydantic"
    alone = subprocess.run([str(venv_python(plain)), "-c", "import pydantic"], capture_output=True)
    assert alone.returncode != 0
    again = ensure_venv(root, sys.executable, log, inherit_site=site_dirs(), cache="t-layer")
    assert again == layered and "reusing the cached environment" in log.read_text()


def test_a_layered_environment_without_pip_to_build_it_is_one_clear_line(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Layered environments are built with deployer's own pip; a deployer installed in an
    environment made by `uv venv` has none: say so, instead of pip's 'No module named pip'."""
    from deployer.errors import DeployFailedError
    from deployer.runtime import venvs

    root = tmp_path / "sol"
    root.mkdir()
    (root / "requirements.txt").write_text("six\n")
    monkeypatch.setattr(venvs, "module_installed", lambda name: name != "pip")
    with pytest.raises(DeployFailedError) as failed:
        venvs.ensure_venv(
            root, sys.executable, tmp_path / "log", inherit_site=venvs.site_dirs(), cache="t-nopip"
        )
    assert "needs pip in deployer's own Python environment" in failed.value.message
    assert "ensurepip" in (failed.value.hint or "")
    cached = home / "cache" / "t-nopip"
    assert not cached.exists() or not any(venvs.is_usable(p) for p in cached.iterdir())


def test_deployers_own_interpreter_is_identified_without_a_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache key's interpreter identity for deployer's own Python is read in-process, and
    is exactly what asking that interpreter in a subprocess gives (so cached environments keep
    their keys); a symlink to the same binary is the same interpreter, another one is asked."""
    monkeypatch.setattr(venvs, "_interpreters", {})
    started: list[list[str]] = []
    real_run = subprocess.run

    def counting_run(args, *rest, **kwargs):
        started.append(list(args))
        return real_run(args, *rest, **kwargs)

    monkeypatch.setattr(venvs.subprocess, "run", counting_run)
    own = interpreter_version(sys.executable)
    link = tmp_path / "python-link"
    link.symlink_to(sys.executable)
    assert interpreter_version(str(link)) == own  # the same binary, by its real path
    assert started == []  # neither started a process
    monkeypatch.setattr(venvs, "_interpreters", {})
    monkeypatch.setattr(venvs.sys, "executable", "")  # as if deployer ran on another Python
    assert interpreter_version(str(link)) == own  # asked in a process: the same identity
    assert len(started) == 1 and started[0][0] == str(link)
