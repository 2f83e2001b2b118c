"""Helpers for deployer-docker's tests: the engine the session uses, deployments that are
always removed, and the `deployer` command run as its own process.

The engine: `ci/setup.sh` installs Debian's docker.io and debootstrap, caches a debootstrapped
bookworm base image and writes /var/lib/deployer-docker/env. The session fixture uses the
daemon named there if it answers; otherwise, when it may (root), it runs
`setup.sh --keep-running` itself — so `hatch test` alone sets everything up on CI — and stops
that daemon, by its pid, when the session ends. Where neither is possible the engine tests
skip with the reason (and fail under DEPLOYER_REQUIRE_REAL=1).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from deployer.plugins.registry import StrategyRegistry
from deployer.runtime.runner import RunnerContext
from deployer.testing import CliResult, DeployerCli, write_solution
from deployer.testing.fixtures import Deployments as CoreDeployments
from deployer_docker.availability import check_engine
from deployer_docker.runner import DockerRunner

__all__ = ["write_solution"]  # re-exported for the test modules

PACKAGE = Path(__file__).resolve().parents[1]
REPO = PACKAGE.parents[1]
EXAMPLES = REPO / "examples"
SETUP_SCRIPT = PACKAGE / "ci" / "setup.sh"
STATE_DIR = Path(os.environ.get("DEPLOYER_DOCKER_STATE", "/var/lib/deployer-docker"))
DEFAULT_BASE_IMAGE = "deployer-base:bookworm"


# -- the engine ----------------------------------------------------------------------------


@dataclass
class Engine:
    """A Docker engine the tests may use, and the base image built for them."""

    host: str
    base_image: str
    started_pid: int | None = None
    tags: set[str] = field(default_factory=set)

    def options(self, **extra: Any) -> dict[str, Any]:
        """Strategy options for this engine: the local base image, wheels from the host."""
        return {"base_image": self.base_image, "wheelhouse": True, **extra}

    def client(self) -> Any:
        import docker

        return docker.DockerClient(base_url=self.host, timeout=120)


def env_file() -> dict[str, str]:
    path = STATE_DIR / "env"
    if not path.is_file():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def answers(host: str | None) -> bool:
    return bool(host) and check_engine({"DOCKER_HOST": str(host)}).available


def why_we_cannot_start() -> str | None:
    if not SETUP_SCRIPT.is_file():
        return f"{SETUP_SCRIPT} is missing"
    if os.geteuid() != 0:
        return "no Docker engine answers and starting dockerd needs root"
    if shutil.which("dockerd") is None and shutil.which("apt-get") is None:
        return "no Docker engine answers, dockerd is not installed and there is no apt-get"
    return None  # as root, setup.sh installs docker.io and debootstrap itself


def run_setup() -> None:
    proc = subprocess.run(
        ["bash", str(SETUP_SCRIPT), "--keep-running"],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        pytest.skip(f"{SETUP_SCRIPT} failed (exit {proc.returncode}):\n{tail}")


def has_image(host: str, image: str) -> bool:
    import docker

    client = docker.DockerClient(base_url=host, timeout=60)
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return False
    finally:
        client.close()
    return True


def stop_daemon(pid: int) -> None:
    """SIGTERM the daemon we started, then wait for it (SIGKILL after 30 s)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def locate_or_start_engine() -> Engine:
    """The engine named by setup.sh's env file (or DOCKER_HOST) with the base image; started
    through setup.sh when missing and allowed. Skips with the reason otherwise."""
    settings = env_file()
    host = settings.get("DOCKER_HOST") or os.environ.get("DOCKER_HOST")
    base_image = (
        os.environ.get("DEPLOYER_DOCKER_BASE_IMAGE")
        or settings.get("DEPLOYER_DOCKER_BASE_IMAGE")
        or DEFAULT_BASE_IMAGE
    )
    started: int | None = None
    if not answers(host) or not has_image(str(host), base_image):
        reason = why_we_cannot_start()
        if reason:
            pytest.skip(reason)
        was_up = answers(settings.get("DOCKER_HOST"))
        run_setup()
        settings = env_file()
        host = settings.get("DOCKER_HOST")
        pidfile = STATE_DIR / "dockerd.pid"
        if not was_up and pidfile.is_file():
            started = int(pidfile.read_text().strip())
        if not answers(host):
            pytest.skip(f"{SETUP_SCRIPT} ran but no engine answers at {host}")
    return Engine(host=str(host), base_image=base_image, started_pid=started)


def remove_images(engine: Engine) -> None:
    """Images the session built, every version's tag of each noted repository (the base
    image and the engine's cache of others stay)."""
    repositories = {tag.rsplit(":", 1)[0] for tag in engine.tags}
    with contextlib.suppress(Exception):
        client = engine.client()
        for image in client.images.list():
            for tag in image.tags:
                if tag.rsplit(":", 1)[0] in repositories:
                    with contextlib.suppress(Exception):
                        client.images.remove(tag, force=True)
        client.close()


# -- deployments -----------------------------------------------------------------------------


class Deployments(CoreDeployments):
    """Core's helper (real adapter, the factory's runner context) on the session's engine:
    its options (base image, network) by default, every image tag noted for removal, and
    every container removed afterwards even when a test broke it."""

    def __init__(self, registry: StrategyRegistry, root: Path, engine: Engine) -> None:
        super().__init__(registry, root, "docker")
        self.engine = engine

    def context(
        self,
        files: dict[str, str] | None = None,
        *,
        source: Path | None = None,
        name: str = "sol",
        options: dict[str, Any] | None = None,
        startup_timeout: float = 300.0,
        run_timeout: float = 60.0,
        **kwargs: Any,
    ) -> RunnerContext:
        self.engine.tags.add(f"deployer/{name}:latest")
        return super().context(
            source if source is not None else (files or {}),
            name=name,
            options=self.engine.options(**(options or {})),
            startup_timeout=startup_timeout,
            run_timeout=run_timeout,
            **kwargs,
        )

    def runner(self, context: RunnerContext, state: dict[str, Any] | None = None) -> DockerRunner:
        runner = super().runner(context, state)
        assert isinstance(runner, DockerRunner)
        return runner

    def deploy(self, files: dict[str, str] | None = None, **kwargs: Any) -> DockerRunner:
        runner = self.runner(self.context(files, **kwargs))
        runner.deploy()
        return runner

    def cleanup(self) -> None:
        for runner in reversed(self.runners):
            with contextlib.suppress(Exception):
                runner.remove()
            runner.close()


# -- the command line ------------------------------------------------------------------------


class Cli(DeployerCli):
    """Core's runner with a longer default timeout: a deploy builds an image."""

    def __call__(
        self,
        *args: str,
        stdin: str | None = None,
        timeout: float = 900,
        cwd: Path | None = None,
    ) -> CliResult:
        return super().__call__(*args, stdin=stdin, timeout=timeout, cwd=cwd)
