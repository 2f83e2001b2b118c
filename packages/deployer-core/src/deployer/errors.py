"""Errors users see. Each carries one readable line and, where there is one, what to do next.

Everything deployer raises on purpose derives from `DeployerError`, so callers (and the CLI)
can catch one type and never see a dependency's exception class.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class DeployerError(Exception):
    """Base class: `message` says what went wrong, `hint` what to do about it."""

    exit_code: int = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(DeployerError):
    """The user's input is wrong: bad path, bad JSON, unknown option."""

    exit_code = 2


class SolutionError(UsageError):
    """The solution directory is missing, not a directory, or unreadable."""


class InputError(UsageError):
    """Inputs for `run` are not a JSON object."""


class OptionError(UsageError):
    """A strategy option is unknown or has a bad value."""


class EntrypointError(UsageError):
    """No entry point, several candidates, or one that does not exist."""


class StrategyNotFoundError(UsageError):
    """The strategy name is not installed (or not allowed)."""


class StrategyUnavailableError(DeployerError):
    """The strategy is installed but cannot work here (missing binary, credential...)."""

    exit_code = 3


class PluginError(DeployerError):
    """A strategy plugin failed to load or its files are invalid."""

    exit_code = 3


class DeploymentNotFoundError(DeployerError):
    exit_code = 4


class NameTakenError(UsageError):
    """A deployment with that name exists already."""


class AdaptationError(DeployerError):
    """The adapted workspace could not be made or did not validate."""

    exit_code = 5


class DeployFailedError(DeployerError):
    """The runner could not bring the deployment up (crash, timeout, install failure)."""

    exit_code = 5


class PortInUseError(DeployFailedError):
    pass


class RunnerError(DeployerError):
    """An operation on a deployed runner failed (not running, crashed, unreachable)."""

    exit_code = 6


class StateError(DeployerError):
    """The state store could not be read or written."""

    exit_code = 7


def validation_parts(exc: ValidationError) -> tuple[str, str, str]:
    """pydantic's first error as (where, what is wrong, "(and N more)" or ""), the one
    formatting every one-line validation message is built from."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return where, message, more


def usage_error_from(exc: ValidationError) -> UsageError:
    """pydantic's validation error as one readable line: the field and what is wrong."""
    where, message, more = validation_parts(exc)
    return UsageError(f"{where}: {message}{more}" if where else f"{message}{more}")


class ExtraNotInstalledError(DeployerError):
    """A feature was asked for whose optional dependency is not installed (litellm for the
    LLM layer): the hint is the install command."""

    exit_code = 3


class PortRaceError(DeployFailedError):
    """A port chosen free was taken before the server bound it: the runner tries another."""


def one_line(exc: BaseException) -> str:
    """An exception as one line for a message: `Type: first line of its text`. Deployer's own
    errors are already one line and keep their text as it is."""
    if isinstance(exc, DeployerError):
        return str(exc)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def raised_at(exc: BaseException, workspace: Path) -> str | None:
    """The innermost line of the workspace's code in the traceback, e.g. 'raised at main.py:3'."""
    root = str(workspace.resolve())
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(root)]
    if not frames:
        return None
    frame = frames[-1]
    return f"raised at {Path(frame.filename).relative_to(root)}:{frame.lineno}"
