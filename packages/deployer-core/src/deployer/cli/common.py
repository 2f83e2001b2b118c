"""What every `deployer` command shares: consoles, JSON output, the error handler, the factory,
and the parsing of repeated KEY=VALUE flags. Only click is imported here; the rest loads inside
the functions, so `deployer --help` stays fast."""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from deployer.deployment.factory import DeploymentFactory
    from deployer.models import SolutionResult

F = TypeVar("F", bound=Callable[..., Any])


def stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def stdout_console() -> Any:
    """Tables on standard output; piped output gets a wide fixed width, not 80 columns."""
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)
    return console


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


VERBOSITY_KEY = "deployer.verbosity"


def verbosity() -> int:
    """-1 with the global --quiet, 1 with --verbose, else 0 (also outside a click context)."""
    context = click.get_current_context(silent=True)
    if context is None:
        return 0
    return int(context.find_root().meta.get(VERBOSITY_KEY, 0))


def set_verbosity(context: click.Context, quiet: bool, verbose: bool) -> None:
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose exclude each other")
    context.meta[VERBOSITY_KEY] = -1 if quiet else (1 if verbose else 0)


def note(text: str) -> None:
    """An informational line on standard error, silenced by --quiet."""
    if verbosity() >= 0:
        click.echo(text, err=True)


def report_error(exc: Exception) -> int:
    """Print one of deployer's errors (or pydantic's) as one readable line, with its hint and,
    under -v, the line it came from; return the exit code it carries."""
    from pydantic import ValidationError

    from deployer.errors import usage_error_from

    error = usage_error_from(exc) if isinstance(exc, ValidationError) else exc
    click.echo(f"error: {error.message}", err=True)
    if error.hint:
        click.echo(f"hint: {error.hint}", err=True)
    cause = exc.__cause__
    if cause is not None and verbosity() > 0:  # -v: what it came from, still one line
        text = str(cause).strip().splitlines()
        click.echo(f"cause: {type(cause).__name__}: {text[0] if text else ''}", err=True)
    return error.exit_code


def handle_errors(func: F) -> F:
    """Turn deployer's errors (and pydantic's) into one readable line and a meaningful exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from pydantic import ValidationError

        from deployer.errors import DeployerError

        try:
            return func(*args, **kwargs)
        except (DeployerError, ValidationError) as exc:
            sys.exit(report_error(exc))
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def for_each_name(names: tuple[str, ...], action: Callable[[str], None]) -> None:
    """Run `action` on every name given (each once, in order), going on past one that fails,
    as `docker rm a b` does; exit with the first failure's code once all have been tried."""
    from deployer.errors import DeployerError

    first_failure = 0
    for name in dict.fromkeys(names):
        try:
            action(name)
        except DeployerError as exc:
            code = report_error(exc)
            first_failure = first_failure or code
    if first_failure:
        sys.exit(first_failure)


def make_factory() -> DeploymentFactory:
    from deployer.deployment.factory import DeploymentFactory

    return DeploymentFactory()


def solution_from(path: str, goal: str | None) -> SolutionResult:
    from deployer.models import SolutionResult
    from deployer.repo.solution import check_solution_path

    return SolutionResult(code_path=check_solution_path(Path(path)), goal=goal or "")


_PAIR_KEYS = {
    "--env": (re.compile(r"[A-Za-z_][A-Za-z0-9_]*"), "an environment variable name"),
    "--option": (re.compile(r"[a-z_][a-z0-9_]*"), "an option name (lowercase, digits, _)"),
}


def pairs(values: tuple[str, ...], flag: str) -> dict[str, str]:
    """KEY=VALUE pairs; the key must be a name (no spaces, nothing empty)."""
    pattern, what = _PAIR_KEYS[flag]
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} must look like KEY=VALUE", param_hint=flag)
        if not pattern.fullmatch(key):
            raise click.BadParameter(f"{key!r} is not {what}", param_hint=flag)
        out[key] = value
    return out


def environment_from(env_files: tuple[str, ...], env: tuple[str, ...]) -> dict[str, str]:
    """The deployment's environment: each --env-file in order, then the --env pairs over them."""
    from deployer.repo.envfile import read_env_file

    environment: dict[str, str] = {}
    for env_file in env_files:
        environment.update(read_env_file(Path(env_file)))
    environment.update(pairs(env, "--env"))
    return environment


def allowed_strategies(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise click.BadParameter("name at least one strategy", param_hint="--allow")
    return names


@contextmanager
def progress_spinner(enabled: bool) -> Iterator[Callable[[str], None]]:
    """A spinner on standard error while long steps run (silent when not a terminal or with
    --quiet; with --verbose every step is a line of its own, terminal or not)."""
    level = verbosity()
    if enabled and level > 0:
        yield lambda step: click.echo(f"... {step}", err=True)
        return
    console = stderr_console()
    if not enabled or level < 0 or not console.is_terminal:
        yield lambda step: None
        return
    with console.status("starting") as status:
        yield lambda step: status.update(step)
