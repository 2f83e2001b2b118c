"""One lock per deployment: lifecycle operations (deploy, start, stop, remove) on one name
run one at a time, across processes. Four concurrent `deployer start` calls start one server;
the other three find it running."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from deployer.errors import StateError
from deployer.models import NAME_PATTERN
from deployer.paths import deployer_home

LOCK_TIMEOUT = 900.0  # a deploy that builds an image may hold it for minutes


@contextlib.contextmanager
def deployment_lock(name: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the lock of deployment `name` (waiting up to `timeout` seconds for it)."""
    if not NAME_PATTERN.fullmatch(name):
        raise StateError(f"{name!r} is not a valid deployment name")
    directory = deployer_home() / "locks"
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / f"{name}.lock").open("a") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: operations are not serialised
            yield
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    raise StateError(
                        f"deployment {name!r} is busy: another deployer command is changing it",
                        hint="wait for it to finish, then try again",
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
