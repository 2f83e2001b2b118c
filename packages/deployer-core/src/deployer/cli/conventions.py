"""What every command shares as a convention, applied once to the whole command tree:
examples at the end of each `--help`, shell completion of deployment and strategy names, and
the global `-q/--quiet` and `-v/--verbose` levels (kept in cli/common.py).

Applied by `finish(main)` at the end of cli/main.py, so commands added by other modules get
the same treatment without each one repeating it.
"""

from __future__ import annotations

from typing import Any

import click

from deployer.cli.lifecycle import complete_deployments, complete_strategies

EXAMPLES: dict[str, list[str]] = {
    "strategies": ["deployer strategies", "deployer strategies local --json"],
    "select": ["deployer select ./my-model", "deployer select . --allow local,docker --json"],
    "deploy": [
        "deployer deploy ./my-model --strategy local --name api",
        "deployer deploy . --name api --env-file .env.prod   # a new version of api",
        "deployer deploy ./app --option mode=inprocess --json",
    ],
    "run": ["deployer run api '{\"text\": \"hi\"}'", "deployer run api - < inputs.json"],
    "status": ["deployer status api", "deployer status api --json"],
    "ls": ["deployer ls", "deployer ls --json"],
    "logs": ["deployer logs api --tail 5", "deployer logs api -f", "deployer logs api --since 10m"],
    "agents": ["deployer agents", "deployer agents --json"],
    "stop": ["deployer stop api", "deployer stop api worker"],
    "start": ["deployer start api", "deployer start api worker"],
    "rm": ["deployer rm api", "deployer rm api old-api --force"],
    "new-strategy": ["deployer new-strategy ray ./plugins --summary 'Serve on Ray'"],
    "cache": ["deployer cache ls", "deployer cache prune --older-than 30"],
    "cache ls": ["deployer cache ls", "deployer cache ls --json"],
    "cache prune": ["deployer cache prune", "deployer cache prune --older-than 30 --json"],
    "doctor": ["deployer doctor", "deployer doctor --fix"],
}  # fmt: skip

NAME_COMMANDS = {
    "run", "status", "logs", "stop", "start", "rm", "history", "rollback", "schema", "endpoint",
}  # fmt: skip


def _with_completion(param: click.Parameter, complete: Any) -> None:
    def shell_complete(ctx: click.Context, incomplete: str) -> list[Any]:
        return complete(ctx, param, incomplete)

    param.shell_complete = shell_complete  # type: ignore[method-assign]


def finish(group: click.Group, prefix: str = "") -> None:
    """Examples in every --help, completion of names, for every command of `group`."""
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            finish(command, f"{prefix}{name} ")
        examples = EXAMPLES.get(f"{prefix}{name}")
        if examples and not command.epilog:
            command.epilog = "\b\nExamples:\n" + "\n".join(f"  {line}" for line in examples)
        for param in command.params:
            if (
                name in NAME_COMMANDS
                and param.name in ("name", "names")
                and isinstance(param, click.Argument)
            ):
                _with_completion(param, complete_deployments)
            if param.name == "strategy" and isinstance(param, click.Option):
                _with_completion(param, complete_strategies)
            if name == "strategies" and param.name == "name":
                _with_completion(param, complete_strategies)
