"""Dev mode: deploy, watch the solution's files, redeploy a new version on every change.

A save makes version k+1 beside k (see versions.py), so a broken edit never takes the running
version down: the loop reports the first lines of the error and waits for the next save. Only
files a deploy would ship count (core's ignore rules: .gitignore, caches, virtual
environments, secrets). Ctrl-C (or SIGTERM) removes what the loop made. `watchfiles` is the
extra `deployer-core[dev]`, imported here only.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from deployer.deployment.factory import DeploymentFactory, default_name
from deployer.errors import DeployerError, ExtraNotInstalledError, SolutionError, one_line
from deployer.models import DeployConfig
from deployer.repo.fingerprint import source_hash
from deployer.repo.ignore import IgnoreRules

Say = Callable[[str], None]
ERROR_LINES = 5
DEV_KEEP = 1  # a dev loop makes many versions: keep one to roll back to


def _watchfiles() -> Any:
    try:
        import watchfiles
    except ImportError:
        raise ExtraNotInstalledError(
            "deployer dev needs the watchfiles package",
            hint="pip install 'deployer-core[dev]'",
        ) from None
    return watchfiles


def shipped_filter(root: Path, include: list[str]) -> Callable[[Any, str], bool]:
    """A watchfiles filter: True for a change to a file a deploy would ship."""
    root = root.resolve()

    def keep(_change: Any, path: str) -> bool:
        try:
            relative = Path(path).resolve().relative_to(root)
        except (ValueError, OSError):
            return False
        if Path(path).is_dir():
            return False  # a directory appearing: the files in it are reported themselves
        parts = relative.parts
        rules = IgnoreRules(root, include)
        for depth in range(1, len(parts)):
            directory = "/".join(parts[:depth])
            if rules.ignored(directory, is_dir=True) or (root / directory / "pyvenv.cfg").exists():
                return False
        posix = relative.as_posix()
        return not rules.ignored(posix) and not rules.secret(posix)

    return keep


def first_lines(error: DeployerError, count: int = ERROR_LINES) -> str:
    text = error.message.strip().splitlines()
    shown = "\n".join(text[:count]) + ("\n  ..." if len(text) > count else "")
    return shown + (f"\nhint: {error.hint}" if error.hint else "")


class DevLoop:
    """One `deployer dev` session (see the module docstring)."""

    def __init__(
        self,
        config: DeployConfig,
        factory: DeploymentFactory | None = None,
        say: Say = print,
        stop: threading.Event | None = None,
    ) -> None:
        self.factory = factory or DeploymentFactory()
        name = config.name or default_name(config.solution)
        self.config = config.model_copy(update={"name": name})
        self.name = name
        self.root = config.solution.code_path
        self.say = say
        self.stop = stop or threading.Event()
        self.deployed_hash: str | None = None
        self.made = False

    def deploy(self) -> bool:
        """Deploy the current files as a new version; report health or the error."""
        if not self.root.is_dir():
            raise SolutionError(f"{self.root} no longer exists; dev mode stops")
        current = source_hash(self.root, self.config.include)
        if current == self.deployed_hash:
            return False  # saved without a change to what ships
        self.say(f"deploying {self.name} ({current})")
        try:
            software = self.factory.create(self.config, keep=DEV_KEEP)
        except DeployerError as exc:
            self.made = self.made or self.name in self.factory.store.names()
            self.say(f"error: {first_lines(exc)}")
            self.deployed_hash = current  # the same files would fail the same way
            return False
        self.made = True
        self.deployed_hash = current
        health = "healthy" if software.is_healthy() else "NOT healthy"
        where = f" at {software.endpoint}" if software.endpoint else ""
        self.say(f"version {software.version} of {self.name} is live{where} ({health})")
        return True

    def changes(self) -> Iterator[set[Any]]:
        watchfiles = _watchfiles()
        try:
            yield from watchfiles.watch(
                self.root,
                watch_filter=shipped_filter(self.root, self.config.include),
                stop_event=self.stop,
                debounce=400,
                step=100,
                raise_interrupt=True,
            )
        except OSError as exc:  # the directory went away under the watcher
            if not self.root.is_dir():
                raise SolutionError(f"{self.root} no longer exists; dev mode stops") from None
            raise SolutionError(
                f"cannot watch {self.root}: {exc.strerror or exc}",
                hint="on Linux, raise fs.inotify.max_user_watches if it is exhausted",
            ) from None

    def run(self) -> None:
        """Deploy, then redeploy on every change until interrupted; remove what was made."""
        _watchfiles()  # fail before deploying when the extra is missing
        try:
            self.deploy()
            self.say(f"watching {self.root} for changes (Ctrl-C stops and removes {self.name})")
            for batch in self.changes():
                if not self.root.is_dir():
                    raise SolutionError(f"{self.root} no longer exists; dev mode stops")
                names = sorted({Path(path).name for _, path in batch})
                self.say(f"changed: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}")
                self.deploy()
            if not self.root.is_dir():
                raise SolutionError(f"{self.root} no longer exists; dev mode stops")
        finally:
            self.cleanup()

    def cleanup(self) -> None:
        if self.made or self.name in self.factory.store.names():
            try:
                self.factory.remove(self.name, force=True)
                self.say(f"removed {self.name}")
            except DeployerError as exc:
                self.say(f"error: could not remove {self.name}: {one_line(exc)}")


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the loop like Ctrl-C does, so what it made is removed either way; and
    SIGINT is honoured even where the shell started us with it ignored (a background job)."""

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
