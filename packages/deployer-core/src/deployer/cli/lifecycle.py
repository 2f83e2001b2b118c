"""`deployer history`, `rollback` and `dev`: the life of one deployment across versions.

Registered in cli/main.py with `main.add_command(...)`; the work is done in
deployment/versions.py (and deployment/dev.py), this module only parses and prints.
"""

from __future__ import annotations

from typing import Any

import click

from deployer.cli.common import emit_json, handle_errors, make_factory, progress_spinner


def complete_deployments(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of deployment names (from the state store; nothing on error)."""
    from click.shell_completion import CompletionItem

    try:
        from deployer.deployment.state import StateStore

        names = StateStore().names()
    except Exception:
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def complete_strategies(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of installed strategy names (plus auto)."""
    from click.shell_completion import CompletionItem

    try:
        from deployer.plugins.registry import default_entry_points

        names = sorted({ep.name for ep in default_entry_points()} | {"auto"})
    except Exception:
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def history_rows(name: str) -> list[dict[str, Any]]:
    """The versions of `name` as plain rows, oldest first."""
    rows = []
    for record in make_factory().store.versions(name):
        info = record.info
        rows.append(
            {
                "version": record.version,
                "live": record.live,
                "status": record.status,
                "created_at": info.created_at.isoformat(),
                "source_hash": info.source_hash,
                "strategy": info.strategy,
                "endpoint": info.endpoint if record.live else None,
                "on_disk": bool(info.adapted_path and info.adapted_path.is_dir()),
                "reason": record.reason,
            }
        )
    return rows


@click.command(
    epilog="""\b
Examples:
  deployer history svc
  deployer history svc --json | jq '.[] | select(.live)'
"""
)
@click.argument("name", shell_complete=complete_deployments)
@click.option("--json", "as_json", is_flag=True, help="Print a list of version objects.")
@handle_errors
def history(name: str, as_json: bool) -> None:
    """List the versions of deployment NAME: time, source hash, strategy, status, which is live."""
    rows = history_rows(name)
    if as_json:
        emit_json(rows)
        return
    from rich.markup import escape
    from rich.table import Table

    from deployer.cli.common import stdout_console

    table = Table("", "version", "status", "created", "source", "strategy", "note")
    for row in rows:
        note = row["reason"] or ("" if row["on_disk"] else "removed from disk")
        cells = (
            "*" if row["live"] else "",
            str(row["version"]),
            row["status"],
            row["created_at"][:19].replace("T", " "),
            row["source_hash"] or "-",
            row["strategy"],
            note,
        )
        table.add_row(*(escape(cell) for cell in cells))
    stdout_console().print(table)
    click.echo("* live")


@click.command(
    epilog="""\b
Examples:
  deployer rollback svc           # back to the previous good version
  deployer rollback svc --to 3
"""
)
@click.argument("name", shell_complete=complete_deployments)
@click.option("--to", "to", type=click.IntRange(min=1), help="The version to bring back.")
@click.option("--json", "as_json", is_flag=True, help="Print the DeploymentInfo as JSON.")
@handle_errors
def rollback(name: str, to: int | None, as_json: bool) -> None:
    """Bring an earlier version of NAME back and make it live once it is healthy."""
    from deployer.deployment.versions import rollback as roll_back

    factory = make_factory()
    previous = factory.store.get(name).version
    with progress_spinner(not as_json) as progress:
        progress(f"starting {name} version {to or 'previous'}")
        software = roll_back(factory, name, to, progress)
    if as_json:
        emit_json(software.info.model_dump(mode="json"))
        return
    endpoint = f" at {software.endpoint}" if software.endpoint else ""
    click.echo(f"{name}: version {software.version} is live{endpoint} (was {previous})")


def recent_events(name: str, limit: int = 10) -> list[dict[str, Any]]:
    """The last events of `name` (oldest first) as plain rows, for `deployer status`."""
    return [
        event.model_dump(mode="json", exclude={"name"})
        for event in make_factory().store.events(name, limit)
    ]


def show_logs(
    software: Any, tail: int | None, follow: bool, since: str | None, as_json: bool
) -> None:
    """`deployer logs`: the tail, filtered by --since, as text or JSON lines; with --follow,
    new output until the deployment is removed (or Ctrl-C)."""
    import json

    from deployer.runtime.logtime import dated_lines, parse_since

    start = None
    if since is not None:
        try:
            start = parse_since(since)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--since") from None
    plain = start is None and not as_json

    def lines_of(text: str) -> list[tuple[Any, str]]:
        dated = dated_lines(text)
        return [d for d in dated if start is None or d[0] is None or d[0] >= start]

    def render(dated: list[tuple[Any, str]]) -> None:
        for when, line in dated:
            if not as_json:
                click.echo(line)
                continue
            at = when.isoformat() if when else None
            row = {"name": software.name, "version": software.version, "at": at, "line": line}
            click.echo(json.dumps(row))

    if not follow:
        if plain:
            click.echo(software.logs(tail), nl=False)
            return
        dated = lines_of(software.logs(None))
        render(dated[-tail:] if tail else dated)
        return
    pending = ""
    for chunk in software.follow_logs(tail=10 if tail is None else tail):
        if plain:
            click.echo(chunk, nl=False)
            continue
        complete, newline, pending = (pending + chunk).rpartition("\n")
        if newline:
            render(lines_of(complete))
    if pending and not plain:
        render(lines_of(pending))
    click.echo(f"deployment {software.name} was removed", err=True)


@click.command(
    epilog="""\b
Examples:
  deployer dev ./my-model
  deployer dev . --name api --env-file .env.local
  deployer dev ./app --strategy local --option port=8000
"""
)
@click.argument("path", type=click.Path())
@click.option(
    "--strategy",
    default="local",
    show_default=True,
    shell_complete=complete_strategies,
    help="Strategy to deploy with.",
)
@click.option("--name", help="Deployment name (default: the directory name plus a suffix).")
@click.option("--entrypoint", help="module:function to call.")
@click.option("--env", "env", multiple=True, metavar="K=V", help="Environment variable (secret).")
@click.option(
    "--env-file", "env_files", multiple=True, type=click.Path(dir_okay=False), metavar="PATH"
)
@click.option("--option", "options", multiple=True, metavar="K=V", help="Strategy option.")
@click.option("--startup-timeout", type=float, default=300.0, show_default=True)
@handle_errors
def dev(
    path: str,
    strategy: str,
    name: str | None,
    entrypoint: str | None,
    env: tuple[str, ...],
    env_files: tuple[str, ...],
    options: tuple[str, ...],
    startup_timeout: float,
) -> None:
    """Deploy PATH, then redeploy a new version whenever a file it ships changes; Ctrl-C
    stops and removes the deployment. Needs the extra deployer-core[dev] (watchfiles)."""
    from deployer.cli.common import environment_from, pairs, solution_from
    from deployer.deployment.dev import DevLoop, sigterm_as_interrupt
    from deployer.models import DeployConfig

    environment = environment_from(env_files, env)
    config = DeployConfig(
        solution=solution_from(path, None),
        strategy=strategy,
        name=name,
        entrypoint=entrypoint,
        env=environment,
        options=pairs(options, "--option"),
        startup_timeout=startup_timeout,
    )
    loop = DevLoop(config, make_factory(), say=lambda text: click.echo(text, err=False))
    try:
        with sigterm_as_interrupt():
            loop.run()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
