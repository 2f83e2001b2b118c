"""The adapted copy's langgraph.json: checked, completed, and the graph id to call chosen.

The template renders langgraph.json pointing the graph id at `./deployer_graph.py:graph`; a
solution that ships its own langgraph.json keeps it (the adapter never overwrites a solution's
file). Either way the runner reads it here before starting or calling a server.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployer.plugin import DeployFailedError, install_entry_loader
from deployer_langgraph.availability import check_graph_id

if TYPE_CHECKING:
    from deployer.plugin import RunInterface

CONFIG_FILE = "langgraph.json"
GENERATED_GRAPH = "./deployer_graph.py:graph"
ENV_FILE = ".env"
SERVER_FILES = ".langgraph_api"  # langgraph dev's persisted threads, runs and store


def read_config(workspace: Path) -> dict[str, Any]:
    path = workspace / CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeployFailedError(
            f"{CONFIG_FILE} is missing from the adapted workspace {workspace}",
            hint="deploy again so the langgraph strategy's template is rendered",
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DeployFailedError(f"{path} is not valid JSON: {exc}") from None
    graphs = data.get("graphs") if isinstance(data, dict) else None
    if not isinstance(graphs, dict) or not graphs:
        raise DeployFailedError(
            f"{path} declares no graphs",
            hint='langgraph.json needs "graphs": {"agent": "./module.py:graph"}',
        )
    return data


def is_generated(config: dict[str, Any]) -> bool:
    """True when langgraph.json is the strategy's own (every graph is deployer_graph's)."""
    return all(spec == GENERATED_GRAPH for spec in config["graphs"].values())


def choose_graph_id(config: dict[str, Any], wanted: str) -> str:
    """The option's graph id when langgraph.json has it, else the file's only graph."""
    graphs = sorted(config["graphs"])
    if wanted in config["graphs"]:
        return wanted
    if len(graphs) == 1:
        return graphs[0]
    raise DeployFailedError(
        f"{CONFIG_FILE} has no graph {wanted!r} (it has {', '.join(graphs)})",
        hint=f"pick one with --option graph_id={graphs[0]}",
    )


def prepare(
    workspace: Path,
    options: dict[str, Any],
    *,
    fresh: bool = False,
    run_interface: RunInterface | None = None,
) -> str:
    """Check langgraph.json, reference the solution's .env file, return the graph id to call.

    `fresh` (first deploy): a `.langgraph_api/` copied along with the solution holds threads
    from the user's own `langgraph dev` runs, not this deployment's: it is dropped. With
    `run_interface`, core's serving runtime and the entry spec go beside deployer_graph.py,
    which loads every entry kind that is not a graph through them. Writes only into the
    adapted copy, and only a langgraph.json the strategy generated.
    """
    if fresh:
        shutil.rmtree(workspace / SERVER_FILES, ignore_errors=True)
    if run_interface is not None:
        install_entry_loader(workspace, run_interface)
    wanted = str(options.get("graph_id") or "agent")
    problem = check_graph_id(wanted)
    if problem:
        raise DeployFailedError(problem, hint="pass --option graph_id=agent (or another id)")
    config = read_config(workspace)
    if is_generated(config) and "env" not in config and (workspace / ENV_FILE).is_file():
        config["env"] = ENV_FILE
        (workspace / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return choose_graph_id(config, wanted)
