"""DeployedSoftware: the handle users hold, the same whatever the strategy."""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

from deployer.deployment.locks import deployment_lock
from deployer.deployment.state import EventKind, StateStore
from deployer.errors import DeployerError
from deployer.models import DeploymentInfo, DeploymentStatus
from deployer.paths import (
    deployer_home,
    deployment_dir,
    failed_dir,
    inside_home,
    version_dir,
    versions_root,
    workspaces_dir,
)
from deployer.runtime.runner import Connection, Readiness, Runner, failure
from deployer.runtime.server import stop_marked


def _describe(exc: BaseException) -> str:
    if isinstance(exc, DeployerError):
        return str(exc)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _parse_inputs(inputs: object) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The input object, or the error envelope saying why it is not one. NaN and Infinity are
    refused the same way everywhere: JSON has no such values."""
    if isinstance(inputs, str | bytes):
        try:
            inputs = json.loads(inputs, parse_constant=_no_constant)
        except RecursionError:
            return {}, failure("inputs are nested too deeply")
        except ValueError as exc:
            return {}, failure(f"inputs are not valid JSON: {exc}")
    if not isinstance(inputs, dict):
        return {}, failure(f"inputs must be a JSON object, got {type(inputs).__name__}")
    return inputs, None


class DeployedSoftware:
    """A running (or stopped) deployment.

    `run()` always returns `{"status": "success", "output": ...}` or
    `{"status": "error", "error": "..."}`; no dependency's exception escapes it. Used as a
    context manager, the deployment is stopped on exit.
    """

    def __init__(
        self,
        info: DeploymentInfo,
        runner: Runner,
        store: StateStore | None,
        reattach: Callable[[str], DeployedSoftware] | None = None,
        discard: Callable[[DeploymentInfo], None] | None = None,
    ) -> None:
        self._info = info
        self.runner = runner
        self._store = store
        self._reattach = reattach  # how to follow the name to a version made after this handle
        self._discard = discard  # how `remove` releases the other versions' platform objects
        self._removed = False
        if store is not None:
            runner.context.on_state = self._save_runner_state

    @property
    def name(self) -> str:
        return self._info.name

    @property
    def info(self) -> DeploymentInfo:
        return self._info.model_copy(deep=True)

    @property
    def endpoint(self) -> str | None:
        return self._info.endpoint

    @property
    def version(self) -> int:
        """Which version of the deployment this handle reaches (1, 2, ...)."""
        return self._info.version

    def run(self, inputs: dict[str, Any] | str) -> dict[str, Any]:
        """Call the solution with an input object (a dict, or JSON text of an object)."""
        if self._removed:
            return failure(
                f"deployment {self.name} was removed; deploy it again with `deployer deploy`"
            )
        parsed, problem = _parse_inputs(inputs)
        if problem is not None:
            return problem
        result = self._run_once(parsed)
        if result["status"] == "error" and self._follow_new_version():
            result = self._run_once(parsed)  # the version it reached was replaced meanwhile
        return result

    def _run_once(self, parsed: dict[str, Any]) -> dict[str, Any]:
        try:
            result = self.runner.run(parsed)
        except RecursionError:
            return failure("inputs are nested too deeply")
        except Exception as exc:
            return failure(_describe(exc))
        if not isinstance(result, dict) or result.get("status") not in {"success", "error"}:
            return failure(f"the {self._info.strategy} runner returned a malformed result")
        return _json_safe(result)

    def _follow_new_version(self) -> bool:
        """Point this handle at the live version when a redeploy or rollback replaced the one
        it held: a caller keeps one handle across a redeploy without failed calls."""
        if self._store is None or self._reattach is None:
            return False
        try:
            live = self._store.get(self.name)
            if live.version == self._info.version:
                return False
            fresh = self._reattach(self.name)
        except DeployerError:
            return False
        self._info, self.runner = fresh.info, fresh.runner
        self.runner.context.on_state = self._save_runner_state
        return True

    def stream(self, inputs: dict[str, Any] | str) -> Iterator[dict[str, Any]]:
        """Yield partial results where the strategy declares `stream`; elsewhere yield the one
        final envelope, so callers can always iterate. Never raises."""
        if "stream" not in self._info.capabilities:
            yield self.run(inputs)
            return
        parsed, problem = _parse_inputs(inputs)
        if problem is not None:
            yield problem
            return
        try:
            yield from self.runner.stream(parsed)
        except Exception as exc:
            yield failure(_describe(exc))

    def is_healthy(self) -> bool:
        try:
            return bool(self.runner.is_healthy())
        except Exception:
            return False

    def readiness(self) -> Readiness:
        """Live: `ready`, `loading` (setup()/load() still runs), `failed` (with the load
        error) or `stopped`. Never raises."""
        if self._removed:
            return Readiness(state="stopped", error="removed")
        try:
            return self.runner.readiness()
        except Exception as exc:
            return Readiness(state="stopped", error=_describe(exc))

    def schema(self) -> dict[str, Any] | None:
        """The JSON Schema of the input object: what the server publishes now, else what was
        recorded at deploy, else None (an entry point that takes any body)."""
        try:
            live = self.runner.schema() if self.is_healthy() else None
        except Exception:
            live = None
        return live if live is not None else self._info.input_schema

    def connection(self) -> Connection:
        """URL and headers (with the bearer token) for calling it without deployer."""
        return self.runner.connection()

    def details(self) -> dict[str, Any]:
        """What the strategy adds to `deployer status` (replicas, nodes, ...); {} if unknown."""
        try:
            return dict(self.runner.details())
        except Exception:
            return {}

    def status(self, readiness: Readiness | None = None) -> DeploymentStatus:
        """The recorded status, corrected by a live readiness check for running deployments:
        `running` (ready), `loading` (its setup still runs) or `failed`. Pass a `readiness`
        just read to reuse it instead of asking the server again."""
        if self._info.status != "running":
            return self._info.status
        state = (readiness or self.readiness()).state
        return "running" if state == "ready" else "loading" if state == "loading" else "failed"

    def logs(self, tail: int | None = None) -> str:
        return self.runner.logs(tail)

    def follow_logs(
        self, tail: int | None = 10, poll: float = 0.25, until: Callable[[], bool] | None = None
    ) -> Iterator[str]:
        """The last `tail` lines, then new output as it comes, until the deployment is removed
        (or `until()` says stop). Works on every runner through `logs()`: a runner with a log
        file is followed by offset, others by what their log gained since the last look."""
        seen = self.runner.logs(None)
        first = seen.splitlines(keepends=True)
        yield "".join(first[-tail:] if tail else first)
        while until is None or not until():
            time.sleep(poll)
            if self._store is not None and self.name not in self._store.names():
                return
            if self._follow_new_version():  # a redeploy or rollback: follow the live log
                yield f"[deployer] {self.name} is now version {self.version}\n"
                seen = ""
            try:
                now = self.runner.logs(None)
            except Exception:
                return
            # a log that does not continue the last one was rotated: show it from the start
            fresh = now[len(seen) :] if now.startswith(seen) else now
            if fresh:
                yield fresh
            seen = now

    def stop(self) -> None:
        with deployment_lock(self.name):
            self._refresh()
            self.runner.stop()
            self._record("stopped")
            self._event("stopped")

    def start(self) -> bool:
        """Start it again; False (and nothing done) when it is running already."""
        with deployment_lock(self.name):
            self._refresh()
            if self._info.status == "running" and self.is_healthy():
                return False
            self._event("loading")
            self.runner.start()
            self._record("running")
            self._event("ready")
            return True

    def remove(self) -> list[int]:
        """Stop, then delete the workspace, runtime files and the record. Idempotent.
        Processes the solution left (a double-forked daemon) are stopped too; returns the
        pids of any that would not stop."""
        with deployment_lock(self.name):
            self._refresh(missing_ok=True)
            try:
                self.runner.remove()
            finally:
                self._removed = True
                survivors = stop_marked(str(deployer_home()), self.name)
                if self._store is not None:
                    with contextlib.suppress(DeployerError):
                        for record in self._store.versions(self.name):
                            if self._discard is not None and record.version != self.version:
                                self._discard(record.info)
                            remove_version_files(record.info)
                remove_files(self._info)
                if self._store is not None:
                    self._store.delete(self.name)
        return survivors

    def _refresh(self, missing_ok: bool = False) -> None:
        """Re-read the record under the lock: another process may have changed it since this
        handle was made (started a server, stopped it)."""
        if self._store is None:
            return
        try:
            info = self._store.get(self.name)
        except DeployerError:
            if missing_ok:
                return
            raise
        if info.version != self._info.version and self._reattach is not None:
            fresh = self._reattach(self.name)  # replaced by another version: act on that one
            self.runner = fresh.runner
            self.runner.context.on_state = self._save_runner_state
        self._info = info
        self.runner.state = dict(info.runner_state)

    def _save_runner_state(self, state: dict[str, Any]) -> None:
        self._info.runner_state = dict(state)
        if self._store is not None:
            with contextlib.suppress(DeployerError):  # removed meanwhile: nothing to record
                self._store.save(self._info)

    def _event(self, kind: EventKind) -> None:
        if self._store is not None:
            with contextlib.suppress(DeployerError):
                self._store.add_event(self.name, self._info.version, kind)

    def _record(self, status: DeploymentStatus) -> None:
        self._info.status = status
        self._info.runner_state = dict(self.runner.state)
        self._info.endpoint = self.runner.endpoint
        if self._store is not None:
            self._store.save(self._info)

    def __enter__(self) -> DeployedSoftware:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"DeployedSoftware(name={self.name!r}, strategy={self._info.strategy!r}, "
            f"status={self._info.status!r}, endpoint={self.endpoint!r})"
        )


def _json_safe(result: dict[str, Any]) -> dict[str, Any]:
    """The envelope as it is when JSON can carry it; else an error envelope saying why (NaN
    and Infinity have no JSON form: refused the same way on every strategy)."""
    try:
        json.dumps(result, allow_nan=False)
    except ValueError:
        return failure("the output contains NaN or Infinity, which JSON cannot carry")
    except (TypeError, RecursionError) as exc:
        return failure(f"the output cannot be sent as JSON: {type(exc).__name__}")
    return result


def remove_files(info: DeploymentInfo, keep_failed: bool = False) -> None:
    """Delete what deployer made for a deployment; never anything outside its own home.
    `keep_failed` leaves the kept logs of its last failed attempt (undoing a failed first
    deploy: the error points at them)."""
    remove_version_files(info)
    runtime = deployment_dir(info.name)  # the name is checked: always inside the home
    paths = [runtime, versions_root(info.name)]
    if not keep_failed:
        paths.append(failed_dir(info.name))
    for path in paths:
        if inside_home(path):
            shutil.rmtree(path, ignore_errors=True)


def remove_version_files(info: DeploymentInfo) -> None:
    """Delete one version's workspace and runtime files (only inside deployer's home)."""
    adapted = info.adapted_path
    if adapted is not None and adapted.resolve().is_relative_to(workspaces_dir().resolve()):
        shutil.rmtree(adapted, ignore_errors=True)
    runtime = version_dir(info.name, info.version)
    if inside_home(runtime):
        shutil.rmtree(runtime, ignore_errors=True)
