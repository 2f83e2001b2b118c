"""The `deployer` command line.

Exit codes: 0 success; 1 the solution returned an error envelope (run) or an unexpected
failure; 2 bad usage or input; 3 strategy unavailable or plugin broken; 4 no such deployment;
5 adaptation or deployment failed; 6 a runner operation failed; 7 the state store failed.
Errors go to standard error as one line (and a hint line); `--json` output goes to standard
output and is stable (see the README).

Only click is imported at start-up: rich, the registry and pydantic models load inside the
commands that use them, so `deployer --help` answers quickly and never imports an SDK.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from deployer.cli.common import (
    allowed_strategies,
    emit_json,
    environment_from,
    for_each_name,
    handle_errors,
    make_factory,
    note,
    pairs,
    progress_spinner,
    set_verbosity,
    solution_from,
    stdout_console,
    verbosity,
)
from deployer.cli.inspect import endpoint, schema


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, _param, value: _print_versions(ctx) if value else None,
    help="Show the versions of deployer-core and every installed strategy, then exit.",
)
@click.option("-q", "--quiet", is_flag=True, help="Only results and errors: no progress, no notes.")
@click.option("-v", "--verbose", is_flag=True, help="Print every step, and the cause of errors.")
@click.pass_context
def main(ctx: click.Context, quiet: bool, verbose: bool) -> None:
    """Turn a code repository into running software: deployer deploy PATH, then deployer run."""
    set_verbosity(ctx, quiet, verbose)


def _print_versions(ctx: click.Context) -> None:
    from importlib.metadata import PackageNotFoundError, version

    from deployer.plugins.registry import default_entry_points

    try:
        core = version("deployer-core")
    except PackageNotFoundError:
        core = "unknown"
    click.echo(f"deployer-core {core}")
    for ep in sorted(default_entry_points(), key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        label = f"{dist.metadata['Name']} {dist.version}" if dist is not None else ep.value
        click.echo(f"  {ep.name}: {label}")
    ctx.exit(0)


# -- strategies ------------------------------------------------------------------------------


@main.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of objects).")
@handle_errors
def strategies(name: str | None, as_json: bool) -> None:
    """List installed strategies with their availability, or show one in detail."""
    from deployer.plugins.registry import StrategyRegistry

    registry = StrategyRegistry()
    records = registry.records()
    rows = []
    for record in records:
        row = record.model_dump(include={"name", "package", "version", "status", "summary"})
        row["provider"] = record.provider
        if record.status == "ok":
            availability = registry.availability(record.name)
            row |= {
                "available": availability.available,
                "reason": availability.reason,
                "hint": availability.hint,
            }
        else:
            row |= {"available": False, "reason": record.reason, "hint": record.hint}
        rows.append(row)
    if name is not None:
        strategy = registry.get_strategy(name)
        detail = next(r for r in rows if r["name"] == name)
        detail["config"] = strategy.config.model_dump(mode="json")
        if as_json:
            emit_json(detail)
        else:
            _print_strategy_detail(detail)
        return
    if as_json:
        emit_json(rows)
        return
    _print_strategies(rows)


def _print_strategies(rows: list[dict[str, Any]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = stdout_console()
    if not rows:
        console.print("No strategy is installed. Try: pip install deployer-local")
        return
    table = Table("strategy", "package", "status", "available", "summary / reason (hint)")
    for column in table.columns[:4]:
        column.no_wrap = True
    table.columns[4].overflow = "fold"
    for row in rows:
        package = f"{row['package'] or '?'} {row['version'] or ''}".strip()
        available = "yes" if row["available"] else "no"
        text = row["summary"] if row["available"] else f"{row['reason']}"
        if row.get("hint") and not row["available"]:
            text += f" (hint: {row['hint']})"
        table.add_row(
            *(escape(str(cell)) for cell in (row["name"], package, row["status"], available, text))
        )
    console.print(table)


def _print_strategy_detail(detail: dict[str, Any]) -> None:
    """A short help page: what it is, whether it works here, its options and targets."""
    config = detail["config"]
    click.echo(f"{detail['name']} ({detail['package'] or '?'} {detail['version'] or ''})".strip())
    click.echo(f"  {config['summary']}")
    if detail["available"]:
        click.echo("available: yes")
    else:
        hint = f" (hint: {detail['hint']})" if detail.get("hint") else ""
        click.echo(f"available: no: {detail['reason']}{hint}")
    click.echo(f"provider: {config['provider']}; interface: {config['interface']}")
    if config.get("capabilities"):
        click.echo(f"capabilities: {', '.join(config['capabilities'])}")
    runner = config["runner"]
    if isinstance(runner, dict):
        targets = ", ".join(sorted(runner))
        click.echo(f"targets (--option {config['target_option']}=...): {targets}")
    options = config.get("options") or {}
    if options:
        click.echo("options (--option KEY=VALUE):")
        for key, spec in options.items():
            kind = spec["type"]
            if spec.get("choices"):
                kind += f" {'|'.join(spec['choices'])}"
            bounds = [f">= {spec['minimum']:g}"] if spec.get("minimum") is not None else []
            bounds += [f"<= {spec['maximum']:g}"] if spec.get("maximum") is not None else []
            if bounds:
                kind += f" ({', '.join(bounds)})"
            default = spec.get("default")
            shown = "" if default in (None, "") else f" [default: {default}]"
            click.echo(f"  {key:<20} {kind}{shown}")
            if spec.get("description"):
                click.echo(f"  {'':<20} {spec['description']}")
    click.echo(f"full config: deployer strategies {detail['name']} --json")


# -- select ----------------------------------------------------------------------------------


_MODEL_HELP = "LLM that chooses (any litellm model string; default: $DEPLOYER_LLM_MODEL)."
_NO_CACHE_HELP = "Ask the model again instead of reusing its cached answer."


@main.command()
@click.argument("path")
@click.option("--allow", help="Comma-separated strategies to choose from.")
@click.option("--goal", help="What the solution is for (default: the start of its README).")
@click.option("--model", help=_MODEL_HELP)
@click.option("--no-cache", "no_cache", is_flag=True, help=_NO_CACHE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the DeploymentSetting as JSON.")
@handle_errors
def select(
    path: str,
    allow: str | None,
    goal: str | None,
    model: str | None,
    no_cache: bool,
    as_json: bool,
) -> None:
    """Choose a strategy for the solution at PATH and explain why."""
    from deployer.plugins.registry import StrategyRegistry
    from deployer.selector.agent import SelectorAgent, effective_goal, format_setting

    solution = solution_from(path, goal)
    selector = SelectorAgent(StrategyRegistry(), model=model, use_cache=not no_cache)
    setting = selector.select(solution, allowed_strategies(allow))
    if as_json:
        emit_json(setting.model_dump(mode="json"))
    else:
        click.echo(format_setting(setting, effective_goal(solution)))


# -- deploy ----------------------------------------------------------------------------------


@main.command()
@click.argument("path")
@click.option("--strategy", default="auto", show_default=True, help="Strategy name or auto.")
@click.option("--allow", help="Comma-separated strategies auto may choose from.")
@click.option("--name", help="Deployment name (default: the directory name plus a suffix).")
@click.option("--entrypoint", help="module:function to call.")
@click.option("--goal", help="What the solution is for (default: the start of its README).")
@click.option("--env", "env", multiple=True, metavar="K=V", help="Environment variable (secret).")
@click.option("--option", "options", multiple=True, metavar="K=V", help="Strategy option.")
@click.option("--startup-timeout", type=float, default=300.0, show_default=True)
@click.option("--run-timeout", type=float, default=300.0, show_default=True)
@click.option("--model", help=_MODEL_HELP + " Also drives the llm-editor agent.")
@click.option("--no-cache", "no_cache", is_flag=True, help=_NO_CACHE_HELP)
@click.option(
    "--agent",
    help="Coding agent for repositories the templates cannot adapt (deployer agents lists "
    "them; default: $DEPLOYER_CODING_AGENT).",
)
@click.option(
    "--adapt",
    "adaptation",
    type=click.Choice(["auto", "templates", "agent"]),
    default="auto",
    show_default=True,
    help="auto: templates when the entry point is clear, else the coding agent; "
    "agent: always the coding agent; templates: never.",
)
@click.option(
    "--env-file",
    "env_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="PATH",
    help="Environment for the solution from a dotenv file (repeatable; --env wins).",
)
@click.option(
    "--include",
    "include",
    multiple=True,
    metavar="PATTERN",
    help="Ship files matching this gitignore pattern although they look like secrets or "
    "match the ignore rules (repeatable).",
)
@click.option(
    "--keep",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Older versions of NAME kept on disk for rollback (older ones are removed).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the DeploymentInfo as JSON.")
@handle_errors
def deploy(
    path: str,
    strategy: str,
    allow: str | None,
    name: str | None,
    entrypoint: str | None,
    goal: str | None,
    env: tuple[str, ...],
    options: tuple[str, ...],
    startup_timeout: float,
    run_timeout: float,
    model: str | None,
    no_cache: bool,
    agent: str | None,
    adaptation: str,
    env_files: tuple[str, ...],
    include: tuple[str, ...],
    keep: int,
    as_json: bool,
) -> None:
    """Select, adapt and deploy the solution at PATH. An existing --name gets a new version,
    made live once healthy (the old one keeps serving until then)."""
    from deployer.models import DeployConfig

    environment = environment_from(env_files, env)  # read before the path is checked
    config = DeployConfig(
        solution=solution_from(path, goal),
        strategy=strategy,
        allowed_strategies=allowed_strategies(allow),
        name=name,
        entrypoint=entrypoint,
        env=environment,
        options=pairs(options, "--option"),
        startup_timeout=startup_timeout,
        run_timeout=run_timeout,
        llm_model=model,
        llm_cache=not no_cache,
        coding_agent=agent,
        adaptation=adaptation,
        include=list(include),
    )
    with progress_spinner(not as_json) as progress:
        software = make_factory().create(config, progress, keep=keep)
    info = software.info
    if as_json:
        emit_json(info.model_dump(mode="json"))
        return
    for left_out in info.left_out:
        note(f"note: {left_out}")
    if verbosity() < 0:
        click.echo(info.name)  # -q: just the name, for scripts
        return
    version = f" version {info.version}" if info.version > 1 else ""
    click.echo(f"deployed {info.name}{version} with {info.strategy} ({info.reasoning})")
    if info.endpoint:
        click.echo(f"endpoint: {info.endpoint}")
    click.echo(f"call it:  deployer run {info.name} '{{...}}'")


# -- run and lifecycle -----------------------------------------------------------------------


def _read_inputs(payload: str | None) -> Any:
    from deployer.errors import InputError

    if payload is None or payload == "-":
        if sys.stdin.isatty():
            raise InputError("no input given", hint="pass a JSON object as argument or on stdin")
        payload = sys.stdin.read()

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON value")

    try:
        data = json.loads(payload, parse_constant=no_constant)
    except RecursionError:
        raise InputError("input is nested too deeply") from None
    except ValueError as exc:
        raise InputError(f"input is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"input must be a JSON object, got {type(data).__name__}")
    return data


@main.command()
@click.argument("name")
@click.argument("payload", required=False, metavar="[JSON]")
@click.option(
    "--stream",
    is_flag=True,
    help="Print each item as it arrives, one JSON object per line (generator entry points).",
)
@handle_errors
def run(name: str, payload: str | None, stream: bool) -> None:
    """Call deployment NAME with a JSON object (argument or stdin); prints the result envelope.

    With --stream, each partial result is printed on its own line as soon as it arrives
    (`{"status": "item", "output": ...}`), then the final envelope. Exit code 1 when the
    solution answered with an error, 2 when the input does not fit its schema."""
    inputs = _read_inputs(payload)
    software = make_factory().attach(name)
    if stream:
        last: dict[str, Any] = {}
        for item in software.stream(inputs):
            click.echo(json.dumps(item, default=str))
            last = item
        _exit_for(last)
        return
    result = software.run(inputs)
    emit_json(result)
    _exit_for(result)


def _exit_for(result: dict[str, Any]) -> None:
    if result.get("status") == "error":
        invalid = "field" in result or str(result.get("error", "")).startswith("invalid input")
        sys.exit(2 if invalid else 1)


@main.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the status as a JSON object.")
@handle_errors
def status(name: str, as_json: bool) -> None:
    """Show deployment NAME: live status, strategy, endpoint, health and uptime."""
    import time

    software = make_factory().attach(name)
    info = software.info
    readiness = software.readiness() if info.status == "running" else None
    live = software.status(readiness)
    healthy = live == "running"
    since = info.updated_at.timestamp()
    report = {
        "name": info.name,
        "status": live,
        "readiness": readiness.state if readiness else None,
        "load_error": readiness.error if readiness and readiness.state == "failed" else None,
        "strategy": info.strategy,
        "provider": info.provider,
        "endpoint": info.endpoint,
        "healthy": healthy,
        "uptime_seconds": round(time.time() - since, 1) if healthy else None,
        "created_at": info.created_at.isoformat(),
        "updated_at": info.updated_at.isoformat(),
        "entrypoint": info.run_interface.entrypoint if info.run_interface else None,
        "entry_kind": info.run_interface.entry_kind if info.run_interface else None,
        "capabilities": info.capabilities,
        "left_out": info.left_out,
        "version": info.version,
        "details": software.details() if healthy else {},
    }
    from deployer.cli.lifecycle import recent_events

    events = recent_events(name)
    if as_json:
        emit_json(report | {"events": events})
        return
    details = report.pop("details")
    for key, value in [*report.items(), *details.items()]:
        if value not in (None, [], "", {}):
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            click.echo(f"{key + ':':<16}{shown}")
    if events:
        click.echo("events:")
        for event in events:
            reason = f": {event['reason']}" if event["reason"] else ""
            click.echo(f"  {event['at'][:19]}  v{event['version']} {event['kind']}{reason}")


@main.command(name="ls")
@click.option("--json", "as_json", is_flag=True, help="Print a list of DeploymentInfo objects.")
@handle_errors
def list_deployments(as_json: bool) -> None:
    """List deployments with their live status."""
    from deployer.errors import DeployerError

    factory = make_factory()
    for broken in factory.store.unreadable():
        click.echo(
            f"warning: the record of {broken!r} is unreadable; remove it with "
            f"deployer rm {broken} --force",
            err=True,
        )
    rows = []
    for info in factory.list():
        status: str = info.status
        readiness: dict[str, Any] = {"readiness": None, "load_error": None}
        try:
            software = factory.attach(info.name)
            live = software.readiness() if info.status == "running" else None
            if live is not None:
                readiness = {"readiness": live.state, "load_error": live.error}
            status = software.status(live)
        except DeployerError:
            status = "unknown"
        rows.append(info.model_dump(mode="json") | {"status": status} | readiness)
    if as_json:
        emit_json(rows)
        return
    from rich.table import Table

    if not rows:
        click.echo("No deployments. Create one with: deployer deploy PATH")
        return
    from rich.markup import escape

    table = Table("name", "strategy", "status", "endpoint", "source")
    for row in rows:
        shown = row["status"] + (f": {row['load_error']}"[:80] if row["load_error"] else "")
        cells = (row["name"], row["strategy"], shown, row["endpoint"] or "-",
                 row["source_path"])  # fmt: skip
        table.add_row(*(escape(str(cell)) for cell in cells))  # user strings: never markup
    stdout_console().print(table)


@main.command()
@click.argument("name")
@click.option("--tail", type=int, default=None, help="Only the last N lines.")
@click.option(
    "-f", "--follow", is_flag=True, help="Keep printing new output until interrupted (Ctrl-C)."
)
@click.option(
    "--adaptation", is_flag=True, help="The coding agent's log from adapting NAME instead."
)
@click.option(
    "--since", metavar="WHEN", help="Only lines written since: 30s, 10m, 2h, 1d or a date/time."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line (at, line, ...).")
@handle_errors
def logs(
    name: str, tail: int | None, follow: bool, adaptation: bool, since: str | None, as_json: bool
) -> None:
    """Print the output of deployment NAME."""
    if not adaptation:
        from deployer.cli.lifecycle import show_logs

        show_logs(make_factory().attach(name), tail, follow, since, as_json)
        return
    from deployer.paths import deployment_dir
    from deployer.runtime.runner import tail_lines

    make_factory().store.get(name)  # an unknown name is an error (exit 4)
    path = deployment_dir(name) / "adaptation.log"
    if not path.is_file():
        click.echo(f"{name} was adapted by templates: no coding agent log", err=True)
        return
    click.echo(tail_lines(path.read_text(encoding="utf-8", errors="replace"), tail), nl=False)


# -- coding agents ---------------------------------------------------------------------------


@main.command()
@click.option("--model", help="The model llm-editor would use (default: $DEPLOYER_LLM_MODEL).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of objects).")
@handle_errors
def agents(model: str | None, as_json: bool) -> None:
    """List coding agents (core's and plugins') with their availability."""
    from deployer.adapter.agents import configured_agent, list_agents
    from deployer.plugins.registry import StrategyRegistry

    records = list_agents(StrategyRegistry(), model)
    chosen = configured_agent()
    if as_json:
        emit_json([r.model_dump() | {"default": r.name == chosen} for r in records])
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table("agent", "from", "available", "description / reason")
    for record in records:
        text = record.description
        if not record.available:
            text = f"{record.reason}" + (f" (hint: {record.hint})" if record.hint else "")
        mark = " (default)" if record.name == chosen else ""
        cells = (record.name + mark, record.source, "yes" if record.available else "no", text)
        table.add_row(*(escape(str(cell)) for cell in cells))
    Console(highlight=False).print(table)


@main.command()
@click.argument("names", metavar="NAME...", nargs=-1, required=True)
@handle_errors
def stop(names: tuple[str, ...]) -> None:
    """Stop each deployment NAME (it can be started again)."""
    factory = make_factory()

    def stop_one(name: str) -> None:
        factory.attach(name).stop()
        click.echo(f"stopped {name}")

    for_each_name(names, stop_one)


@main.command()
@click.argument("names", metavar="NAME...", nargs=-1, required=True)
@handle_errors
def start(names: tuple[str, ...]) -> None:
    """Start each stopped (or crashed) deployment NAME again."""
    factory = make_factory()

    def start_one(name: str) -> None:
        software = factory.attach(name)
        with progress_spinner(True) as progress:
            progress(f"starting {name}")
            software.runner.context.progress = progress
            started = software.start()
        endpoint = f" at {software.endpoint}" if software.endpoint else ""
        click.echo(f"{'started' if started else 'already running:'} {name}{endpoint}")

    for_each_name(names, start_one)


@main.command()
@click.argument("names", metavar="NAME...", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Drop the record even if the strategy cannot load.")
@handle_errors
def rm(names: tuple[str, ...], force: bool) -> None:
    """Stop and remove each deployment NAME with its workspace and logs."""
    factory = make_factory()

    def remove_one(name: str) -> None:
        survivors = factory.remove(name, force=force)
        click.echo(f"removed {name}")
        if survivors:
            pids = ", ".join(str(pid) for pid in survivors)
            click.echo(f"warning: could not stop processes {pids} of {name}", err=True)

    for_each_name(names, remove_one)


@main.command(name="new-strategy")
@click.argument("name")
@click.argument("directory", required=False, default=".")
@click.option("--summary", help="One line saying what the strategy does.")
@handle_errors
def new_strategy(name: str, directory: str, summary: str | None) -> None:
    """Write a complete, installable strategy package deployer-NAME in DIRECTORY."""
    from deployer.cli.scaffold import new_strategy as write_package

    target = write_package(name, Path(directory), summary)
    click.echo(f"created {target}")
    click.echo(f"next: pip install -e '{target}[test]' && deployer strategies && pytest {target}")


if __name__ == "__main__":  # pragma: no cover
    main()


# -- cached environments ---------------------------------------------------------------------


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


@main.group()
def cache() -> None:
    """Cached virtual environments: list them, prune the unused ones."""


@cache.command(name="ls")
@click.option("--json", "as_json", is_flag=True, help="Print a list of objects.")
@handle_errors
def cache_ls(as_json: bool) -> None:
    """List cached environments with their size and the deployments that use them."""
    from deployer.deployment.cache import list_cache

    entries = list_cache(make_factory().store)
    if as_json:
        emit_json([entry.as_json() for entry in entries])
        return
    if not entries:
        click.echo("No cached environments.")
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table("kind", "size", "used by", "state", "path")
    for entry in entries:
        table.add_row(
            escape(entry.kind),
            _megabytes(entry.size_bytes),
            escape(", ".join(entry.used_by) or "-"),
            "ready" if entry.complete else "incomplete",
            escape(str(entry.path)),
        )
    stdout_console().print(table)
    total = sum(entry.size_bytes for entry in entries)
    click.echo(f"{len(entries)} environments, {_megabytes(total)}")


@cache.command(name="prune")
@click.option(
    "--older-than",
    "older_than",
    type=click.FloatRange(min=0, min_open=False),
    default=None,
    metavar="DAYS",
    help="Only environments unused for this many days (incomplete builds go regardless).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
@handle_errors
def cache_prune(older_than: float | None, as_json: bool) -> None:
    """Remove cached environments that no recorded deployment uses."""
    from deployer.deployment.cache import prune

    removed = prune(older_than, make_factory().store)
    if as_json:
        emit_json([entry.as_json() for entry in removed])
        return
    freed = sum(entry.size_bytes for entry in removed)
    click.echo(f"removed {len(removed)} environments, freed {_megabytes(freed)}")


# -- doctor ----------------------------------------------------------------------------------


@main.command()
@click.option("--fix", is_flag=True, help="Clean up what was found.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@handle_errors
def doctor(fix: bool, as_json: bool) -> None:
    """Find (and with --fix clean up) what deployer left behind: orphan servers, records of
    killed deploys, stale staging directories, orphan workspaces, half-built environments."""
    from deployer.deployment.doctor import examine

    findings = examine(make_factory(), fix=fix)
    if as_json:
        emit_json([finding.as_json() for finding in findings])
        return
    if not findings:
        click.echo("nothing left behind")
        return
    for finding in findings:
        state = "fixed: " if finding.fixed else ("could not fix: " if finding.error else "")
        detail = f" ({finding.error})" if finding.error else ""
        click.echo(f"{state}{finding.kind}: {finding.what} -> {finding.action}{detail}")
    if not fix:
        click.echo("run `deployer doctor --fix` to clean these up")


main.add_command(schema)
main.add_command(endpoint)

# -- a deployment's life (cli/lifecycle.py) --------------------------------------------------

from deployer.cli.conventions import finish  # noqa: E402
from deployer.cli.lifecycle import dev, history, rollback  # noqa: E402

main.add_command(history)
main.add_command(rollback)
main.add_command(dev)
finish(main)  # examples in every --help, completion of names (cli/conventions.py)
