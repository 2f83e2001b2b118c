"""`deployer schema` and `deployer endpoint`: what a deployment takes, and how to call it
without deployer (curl, another language)."""

from __future__ import annotations

import json
import shlex

import click

from deployer.cli.common import emit_json, handle_errors, make_factory

TOKEN_VARIABLE = "DEPLOYER_TOKEN"


@click.command()
@click.argument("name")
@handle_errors
def schema(name: str) -> None:
    """Print the JSON Schema of deployment NAME's input object.

    \b
    Examples:
      deployer schema my-model
      deployer schema my-model | jq .properties
    """
    from deployer.errors import StateError

    found = make_factory().attach(name).schema()
    if found is None:
        raise StateError(
            f"deployment {name!r} publishes no input schema: its entry point takes any JSON object",
            hint=f"see what it expects in its source, or call it: deployer run {name} '{{...}}'",
        )
    emit_json(found)


@click.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print URL, headers and paths as JSON.")
@click.option(
    "--show-token", is_flag=True, help="Print the bearer token itself instead of a placeholder."
)
@click.option("--token", "token_only", is_flag=True, help="Print only the bearer token.")
@handle_errors
def endpoint(name: str, as_json: bool, show_token: bool, token_only: bool) -> None:
    """Print the URL of deployment NAME and the header each request needs.

    The token is a secret: it is shown only with --token or --show-token; otherwise the
    header and the curl line use $DEPLOYER_TOKEN in its place.

    \b
    Examples:
      deployer endpoint my-model
      export DEPLOYER_TOKEN=$(deployer endpoint my-model --token)
      deployer endpoint my-model --json --show-token
    """
    from deployer.errors import StateError

    connection = make_factory().attach(name).connection()
    if not connection.url:
        raise StateError(
            f"deployment {name!r} has no endpoint (it is stopped, or its strategy has none)",
            hint=f"start it with: deployer start {name}",
        )
    if token_only:
        token = connection.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not token:
            raise StateError(f"deployment {name!r} takes no token")
        click.echo(token)
        return
    headers = connection.headers if show_token else _masked(connection.headers)
    if as_json:
        emit_json({"url": connection.url, "headers": headers, "paths": connection.paths})
        return
    click.echo(f"url:     {connection.url}")
    for key, value in headers.items():
        click.echo(f"header:  {key}: {value}")
    for what, where in connection.paths.items():
        click.echo(f"{what + ':':<9}{where}")
    run_path = connection.paths.get("run", "POST /").split(" ", 1)[-1]
    header_args = "".join(f" -H {_quoted(f'{k}: {v}')}" for k, v in headers.items())
    example = json.dumps({"...": "..."})
    if connection.headers and not show_token:
        click.echo(f"token:   export {TOKEN_VARIABLE}=$(deployer endpoint {name} --token)")
    click.echo(
        f"curl:    curl -s{header_args} -H 'Content-Type: application/json' "
        f"-d {shlex.quote(example)} {shlex.quote(connection.url + run_path)}"
    )


def _masked(headers: dict[str, str]) -> dict[str, str]:
    """Authorization values replaced by a shell variable: the secret stays off the screen."""
    return {
        key: f"Bearer ${TOKEN_VARIABLE}" if key.lower() == "authorization" else value
        for key, value in headers.items()
    }


def _quoted(text: str) -> str:
    """Double quotes where the masked header needs the shell to expand the variable."""
    if f"${TOKEN_VARIABLE}" in text:
        return '"' + text.replace('"', '\\"') + '"'
    return shlex.quote(text)
