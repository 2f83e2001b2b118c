"""Versions of a deployment: redeploy beside the live version, roll back, keep a few.

The order is always health first, then switch: version k+1 is adapted and started in its own
workspace and runtime directory (its own port or process) while k keeps serving; only once
k+1 is healthy does the name's live record point to it, and only then is k stopped (kept on
disk for `rollback`). A version that fails leaves the live one untouched. One redeploy or
rollback of a name at a time: a second one at once is refused (it would race the first).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from deployer.deployment.locks import deployment_lock
from deployer.deployment.software import DeployedSoftware, remove_version_files
from deployer.deployment.state import StateStore, VersionRecord
from deployer.errors import DeployerError, DeployFailedError, StateError, UsageError, one_line
from deployer.models import DeployConfig, DeploymentInfo, Owner
from deployer.runtime.processes import pid_start_time

if TYPE_CHECKING:
    from deployer.deployment.factory import DeploymentFactory
    from deployer.deployment.plan import DeploymentPlan
    from deployer.runtime.runner import Runner

Progress = Callable[[str], None]
DRAIN_SECONDS = 0.3
"""How long the replaced version keeps serving after the switch: calls that looked the name
up just before it finish on the old version instead of failing."""


@contextlib.contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Hold the deployment's lock, or fail at once when another command holds it."""
    from deployer.deployment.factory import busy_error

    stack = contextlib.ExitStack()
    try:
        stack.enter_context(deployment_lock(name, timeout=0.0))
    except StateError as exc:
        if "busy" not in exc.message:
            raise
        raise busy_error(name) from None
    with stack:
        yield


def _check_settled(factory: DeploymentFactory, live: DeploymentInfo) -> None:
    from deployer.deployment.factory import busy_error, owner_alive

    if live.status != "deploying":
        return
    if owner_alive(live.owner):
        raise busy_error(live.name)
    raise StateError(
        f"deployment {live.name!r} never finished deploying",
        hint=f"remove it with: deployer rm {live.name} (or deployer doctor --fix)",
    )


def redeploy(
    factory: DeploymentFactory,
    plan: DeploymentPlan,
    config: DeployConfig,
    progress: Progress,
    keep: int,
) -> DeployedSoftware:
    """Make version k+1 of an existing name and switch to it once healthy."""
    if keep < 0:
        raise UsageError(f"keep must be 0 or more, not {keep}")
    store, name = factory.store, plan.name
    with exclusive(name):
        live = store.get(name)
        _check_settled(factory, live)
        ensure_row(store, live)
        version = store.next_version(name)
        info = factory.new_info(plan, config, version)
        store.save_version(info, "deploying")
        store.add_event(name, version, "created")

        def record(current: DeploymentInfo) -> None:
            store.save_version(current, "deploying")

        try:
            runner = factory.bring_up(plan, config, info, progress, record)
        except DeployerError as exc:
            info.owner = None
            store.save_version(info, "failed", exc.message)
            remove_version_files(info)
            exc.message = (
                f"version {version} of {name!r} failed, so {name} stays on version "
                f"{live.version} ({_serving(live)}): {exc.message}"
            )
            raise
        except BaseException:
            info.owner = None
            store.save_version(info, "failed", "interrupted")
            remove_version_files(info)
            raise
        info.owner = None
        software = switch(factory, live, info, runner)
        prune(store, name, keep, discard=factory.discard_version)
        return software


def _serving(info: DeploymentInfo) -> str:
    return "still serving" if info.status == "running" else f"which is {info.status}"


def ensure_row(store: StateStore, live: DeploymentInfo) -> None:
    """Give a record from before versions existed its version row."""
    if not store.has_version_row(live.name, live.version):
        store.save_version(live, "running" if live.status == "running" else "stopped")


def switch(
    factory: DeploymentFactory, old: DeploymentInfo, new: DeploymentInfo, runner: Runner
) -> DeployedSoftware:
    """Point the name at `new` (healthy already), then stop `old`, keeping it on disk."""
    store, name = factory.store, new.name
    new.status = "running"
    new.runner_state = dict(runner.state)
    new.endpoint = runner.endpoint
    new.provider = runner.provider or new.provider
    if new.input_schema is None:
        from deployer.deployment.factory import schema_of

        new.input_schema = schema_of(runner)
    store.save(new)
    store.save_version(new, "running")
    store.add_event(name, new.version, "live", f"replaces version {old.version}")
    software = DeployedSoftware(
        new, runner, store, reattach=factory.attach, discard=factory.discard_version
    )
    time.sleep(DRAIN_SECONDS)
    try:
        previous = factory.runner_for(old)
        previous.stop()
        old.runner_state = dict(previous.state)
        reason = None
    except Exception as exc:  # the new version serves; the old one is reported, not fatal
        reason = f"could not be stopped cleanly: {one_line(exc)}"
    old.status = "stopped"
    old.endpoint = None
    store.save_version(old, "stopped", reason)
    store.add_event(name, old.version, "stopped", reason)
    return software


def rollback(
    factory: DeploymentFactory, name: str, to: int | None = None, progress: Progress | None = None
) -> DeployedSoftware:
    """Bring version `to` (default: the latest good one before the live one) back up, and
    make it live once healthy."""
    store = factory.store
    with exclusive(name):
        live = store.get(name)
        _check_settled(factory, live)
        ensure_row(store, live)
        records = store.versions(name)
        target = _target(name, live, records, to)
        info = target.info
        if info.adapted_path is None or not info.adapted_path.is_dir():
            raise UsageError(
                f"version {target.version} of {name!r} no longer exists on disk",
                hint=f"deployer history {name} lists the versions that can be brought back",
            )
        info.owner = Owner(pid=os.getpid(), started=pid_start_time(os.getpid()))
        store.save_version(info, "deploying")
        store.add_event(name, info.version, "loading", f"rolling back from {live.version}")
        runner = factory.runner_for(info)
        runner.context.progress = progress
        runner.context.on_state = lambda state: _save_state(store, info, state)
        try:
            runner.start()
            if not runner.is_healthy():
                raise DeployFailedError(f"version {info.version} started but is not healthy")
        except Exception as exc:
            with contextlib.suppress(Exception):
                runner.stop()
            reason = one_line(exc)
            info.owner = None
            store.save_version(info, "stopped", f"rollback failed: {reason}")
            store.add_event(name, info.version, "failed", reason)
            raise DeployFailedError(
                f"rolling {name!r} back to version {info.version} failed, so {name} stays on "
                f"version {live.version} ({_serving(live)}): {reason}"
            ) from None
        store.add_event(name, info.version, "ready")
        info.owner = None
        return switch(factory, live, info, runner)


def _save_state(store: StateStore, info: DeploymentInfo, state: dict[str, object]) -> None:
    info.runner_state = dict(state)
    store.save_version(info, "deploying")


def _target(
    name: str, live: DeploymentInfo, records: list[VersionRecord], to: int | None
) -> VersionRecord:
    kept = [r for r in records if not r.live and r.status != "failed"]
    if to is None:
        earlier = [r for r in kept if r.version < live.version]
        if not earlier:
            raise UsageError(
                f"{name!r} has no earlier version to roll back to (it is on version "
                f"{live.version})",
                hint=f"deployer history {name} lists its versions",
            )
        return earlier[-1]
    found = next((r for r in records if r.version == to), None)
    if found is None:
        listed = ", ".join(str(r.version) for r in records) or "none"
        raise UsageError(
            f"{name!r} has no version {to} (kept versions: {listed})",
            hint=f"deployer history {name} lists its versions",
        )
    if found.live:
        raise UsageError(f"version {to} of {name!r} is live already")
    if found.status == "failed":
        raise UsageError(
            f"version {to} of {name!r} failed to deploy: there is nothing to bring back",
            hint=f"deployer history {name} lists its versions",
        )
    return found


def prune(
    store: StateStore,
    name: str,
    keep: int,
    discard: Callable[[DeploymentInfo], None] | None = None,
) -> list[int]:
    """Remove all but the `keep` newest non-live versions (and as many failed attempts) with
    their workspaces, `discard` releasing what each still holds first; the removed version
    numbers."""
    records = [r for r in store.versions(name) if not r.live]
    good = sorted((r for r in records if r.status != "failed"), key=lambda r: -r.version)
    failed = sorted((r for r in records if r.status == "failed"), key=lambda r: -r.version)
    removed = []
    for record in good[keep:] + failed[keep:]:
        if discard is not None:
            discard(record.info)
        remove_version_files(record.info)
        store.delete_version(name, record.version)
        removed.append(record.version)
    return sorted(removed)
