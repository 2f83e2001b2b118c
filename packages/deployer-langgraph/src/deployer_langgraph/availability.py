"""Which target a deployment uses and whether it can work here. Standard library only.

The plugin module imports this to answer `deployer_check_availability`, so it must stay light:
no langgraph, no langgraph_sdk, no httpx. The runner uses the same functions, so listing,
deploying and reattaching agree on the target and the credentials.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deployer.plugin import Availability, module_installed

URL_ENV = "DEPLOYER_LANGGRAPH_URL"
# The names langgraph_sdk itself reads, in its order; LANGSMITH_API_KEY is the documented one.
API_KEY_ENVS = ("LANGGRAPH_API_KEY", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")
GRAPH_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEV_MODULES = ("langgraph_cli", "langgraph_api", "langgraph")
DEV_INSTALL_HINT = 'pip install "deployer-langgraph[dev]"  (installs langgraph-cli[inmem])'


def cloud_url(options: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None) -> str:
    """The server URL of the cloud target: the `url` option, else $DEPLOYER_LANGGRAPH_URL."""
    environ = os.environ if environ is None else environ
    url = str((options or {}).get("url") or "").strip()
    return (url or environ.get(URL_ENV, "").strip()).rstrip("/")


def resolve_target(
    options: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None
) -> str:
    """`dev` or `cloud`. `auto` (the default) means cloud when a server URL is configured."""
    target = str((options or {}).get("target") or "auto")
    if target in {"dev", "cloud"}:
        return target
    return "cloud" if cloud_url(options, environ) else "dev"


def api_key(*sources: Mapping[str, str]) -> str | None:
    """The first API key found, looking at each source (deployment env, then os.environ)."""
    for source in sources:
        for name in API_KEY_ENVS:
            value = (source.get(name) or "").strip().strip("'\"")
            if value:
                return value
    return None


def check_graph_id(graph_id: str) -> str | None:
    """Why `graph_id` cannot name a graph in langgraph.json, or None when it can."""
    if GRAPH_ID_PATTERN.match(graph_id):
        return None
    return (
        f"option graph_id {graph_id!r} must be 1-64 letters, digits, '_', '-' or '.', "
        "starting with a letter or digit"
    )


def availability(options: Mapping[str, Any] | None, env_keys: Sequence[str] = ()) -> Availability:
    """Quick checks, no imports of the SDKs: modules are looked up with find_spec only.
    `env_keys` are the variables the deployment is given (`--env`): an API key there counts."""
    options = options or {}
    if not module_installed("langgraph_sdk"):
        return Availability(
            False, "langgraph-sdk is not installed", "pip install deployer-langgraph"
        )
    problem = check_graph_id(str(options.get("graph_id") or "agent"))
    if problem:
        return Availability(False, problem, "pass --option graph_id=agent (or another id)")
    if resolve_target(options) == "cloud":
        return _cloud_availability(options, env_keys)
    return _dev_availability(options)


def _dev_availability(options: Mapping[str, Any]) -> Availability:
    python = str(options.get("python") or "")
    if python:
        if not (Path(python).is_file() or shutil.which(python)):
            return Availability(
                False,
                f"the interpreter {python!r} for langgraph dev was not found",
                "pass --option python=/path/to/python with langgraph-cli[inmem] installed",
            )
        return Availability(True)
    missing = [name for name in DEV_MODULES if not module_installed(name)]
    if missing:
        return Availability(
            False,
            f"target dev runs `langgraph dev`, but {', '.join(missing)} is not installed",
            f"{DEV_INSTALL_HINT}; or use --option target=cloud --option url=...",
        )
    return Availability(True)


def _cloud_availability(options: Mapping[str, Any], env_keys: Sequence[str]) -> Availability:
    url = cloud_url(options)
    deployment = str(options.get("deployment_id") or "").strip()
    if not url and not deployment:
        return Availability(
            False,
            "target cloud needs the URL of a LangGraph server (LangGraph Platform or self-hosted)",
            f"pass --option url=https://... or set {URL_ENV}; or --option deployment_id=... "
            "to make revisions of a LangGraph Platform deployment",
        )
    if deployment and not module_installed("langgraph_cli"):
        return Availability(
            False,
            "revisions of a LangGraph Platform deployment are made with langgraph-cli's "
            "control-plane client, which is not installed",
            "pip install 'deployer-langgraph[cloud]'",
        )
    if url and not url.startswith(("http://", "https://")):
        return Availability(
            False, f"the server URL {url!r} must start with http:// or https://", "fix the URL"
        )
    given = any(name in env_keys for name in API_KEY_ENVS)
    needs_key = str(options.get("auth") or "api_key") == "api_key"
    if needs_key and not given and api_key(os.environ) is None:
        return Availability(
            False,
            "target cloud needs an API key: LANGSMITH_API_KEY is not set "
            f"({f'server {url}' if url else f'deployment {deployment}'})",
            "export LANGSMITH_API_KEY=lsv2_...; for a self-hosted server without "
            "authentication pass --option auth=none",
        )
    return Availability(True)
