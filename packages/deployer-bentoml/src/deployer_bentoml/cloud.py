"""The bentocloud target: `bentoml build`, then a deployment through bentoml.deployment.

Every bentoml error is turned into one deployer error line here; bentoml is imported inside
the functions only. The login is checked before anything is built, so a machine without one
fails in one clear line and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from deployer.errors import DeployFailedError, RunnerError, StrategyUnavailableError
from deployer_bentoml.login import find_login

BUILD_TIMEOUT = 1800.0
POLL_INTERVAL = 5.0
READY = {"running", "scaled-to-zero"}
FAILED = {"failed", "image-build-failed", "unhealthy"}
_TAG = re.compile(r"__tag__:(\S+)")


def require_login() -> None:
    login = find_login()
    if not login.found:
        raise StrategyUnavailableError(
            f"target bentocloud is unavailable here: {login.reason}", hint=login.hint
        )


def build(workspace: Path, log_path: Path, env: dict[str, str]) -> str:
    """`bentoml build` of the workspace in a subprocess (the solution's code is imported by the
    build, never into deployer's process); returns the bento tag."""
    command = [sys.executable, "-m", "bentoml", "build", str(workspace), "--output", "tag"]
    start = log_path.stat().st_size if log_path.exists() else 0
    with log_path.open("ab") as log:
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        try:
            result = subprocess.run(
                command,
                cwd=workspace,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                timeout=BUILD_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DeployFailedError(
                f"bentoml build took longer than {BUILD_TIMEOUT:.0f}s", hint=f"see {log_path}"
            ) from None
        out = result.stdout.decode("utf-8", errors="replace")
        log.write(out.encode())
    match = _TAG.search(out)
    if result.returncode != 0 or match is None:
        with log_path.open("rb") as handle:
            handle.seek(start)
            lines = handle.read().decode("utf-8", errors="replace").strip().splitlines()
        errors = [line for line in lines if "Error" in line or "error" in line]
        last = (errors or lines or ["no output"])[-1].strip()
        raise DeployFailedError(f"bentoml build failed: {last}", hint=f"full log: {log_path}")
    return match.group(1)


def _bentoml_error(action: str, exc: Exception, error: type[Exception]) -> Exception:
    text = " ".join(str(exc).split())[:300] or type(exc).__name__
    return error(f"BentoCloud {action} failed: {text}")


@contextlib.contextmanager
def _quiet_console(log_path: Path):
    """bentoml's cloud client prints progress with rich to stdout; keep it in our log so
    `deployer deploy --json` output stays clean."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            yield
    finally:
        if buffer.getvalue():
            with log_path.open("a", encoding="utf-8") as log:
                log.write(buffer.getvalue())


def create(
    *,
    name: str,
    bento: str,
    options: dict[str, Any],
    env: dict[str, str],
    log_path: Path,
) -> str:
    """Create the deployment; returns the cluster it went to."""
    import bentoml

    kwargs: dict[str, Any] = {
        "name": name,
        "bento": bento,
        "scaling_min": int(options.get("scaling_min") or 0),
        "scaling_max": max(1, int(options.get("scaling_max") or 1)),
        "envs": [{"name": key, "value": value} for key, value in env.items()] or None,
    }
    if options.get("cluster"):
        kwargs["cluster"] = options["cluster"]
    if options.get("instance_type"):
        kwargs["instance_type"] = options["instance_type"]
    try:
        with _quiet_console(log_path):
            deployment = bentoml.deployment.create(**kwargs)
    except Exception as exc:
        raise _bentoml_error(f"deployment of {bento}", exc, DeployFailedError) from None
    return str(getattr(deployment, "cluster", "") or options.get("cluster") or "")


def wait_ready(name: str, cluster: str | None, timeout: float, log_path: Path) -> str:
    """Poll the deployment's status until it runs; returns its endpoint URL."""
    import bentoml

    deadline = time.monotonic() + timeout
    status = "unknown"
    while True:
        try:
            with _quiet_console(log_path):
                deployment = bentoml.deployment.get(name, cluster=cluster or None)
                status = str(deployment.get_status(refetch=False).status)
                if status in READY:
                    return deployment.get_endpoint_urls(refetch=False)[0]
        except Exception as exc:
            raise _bentoml_error(f"status of {name}", exc, DeployFailedError) from None
        if status in FAILED:
            raise DeployFailedError(
                f"BentoCloud deployment {name} is {status}",
                hint="see its events in the BentoCloud console",
            )
        if time.monotonic() >= deadline:
            raise DeployFailedError(
                f"BentoCloud deployment {name} was not ready within {timeout:g}s (status {status})"
            )
        with log_path.open("a", encoding="utf-8") as log:
            log.write(f"BentoCloud deployment {name}: {status}\n")
        time.sleep(POLL_INTERVAL)


def terminate(name: str, cluster: str | None, log_path: Path) -> None:
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        with _quiet_console(log_path):
            bentoml.deployment.terminate(name, cluster=cluster or None)
    except NotFound:
        return
    except Exception as exc:
        raise _bentoml_error(f"terminate of {name}", exc, RunnerError) from None


def start(name: str, cluster: str | None, log_path: Path) -> None:
    import bentoml

    try:
        with _quiet_console(log_path):
            bentoml.deployment.start(name, cluster=cluster or None)
    except Exception as exc:
        raise _bentoml_error(f"start of {name}", exc, RunnerError) from None


def delete(name: str, cluster: str | None, log_path: Path) -> None:
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        with _quiet_console(log_path):
            bentoml.deployment.delete(name, cluster=cluster or None)
    except NotFound:
        return
    except Exception as exc:
        raise _bentoml_error(f"delete of {name}", exc, RunnerError) from None


def delete_bento(tag: str) -> None:
    """Drop the bento we built from the local bento store; best effort (it may be gone)."""
    import bentoml

    with contextlib.suppress(Exception):
        bentoml.bentos.delete(tag)


def build_env(extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **extra}
    env.setdefault("BENTOML_DO_NOT_TRACK", "True")
    return env
