"""The adapted workspace made ready for Ray Serve just before it is deployed.

The template renders `deployer_ray_app.py` at adaptation. What the replicas need besides is
written here, into the adapted copy (ours to write), because it follows the run interface
rather than the template: core's serving runtime as the top-level package `deployer_runtime`
(replicas load every entry kind with it, on clusters where deployer is not installed) and
`deployer_entry.json` naming the entry point, its kind, load steps and route. The entry kind
also decides which generated deployment class is bound and where `run` posts; a solution that
is a Serve application already (`serve_app`) binds none of ours: it is served as written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from deployer.plugin import DeployFailedError, RunInterface, install_serving_runtime

APP_FILE = "deployer_ray_app.py"
SPEC_FILE = "deployer_entry.json"
ENTRY_CLASS = "DeployerApp"  # functions and classes, loaded once per replica
ASGI_CLASS = "DeployerAsgiApp"  # the solution's ASGI app as the ingress (serve.ingress)
AUTHOR_APP = ""  # the solution's own Serve application: nothing of ours is bound
KINDS = ("function", "class", "asgi", "serve_app")


@dataclass(frozen=True)
class AppPlan:
    """What is bound and called: the generated class and the path `run` posts to."""

    kind: str
    deployment_class: str
    route: str  # under the application's route prefix; "" for the envelope endpoint

    def as_state(self) -> dict[str, str]:
        return {"entry_kind": self.kind, "deployment_class": self.deployment_class}


def plan(interface: RunInterface) -> AppPlan:
    """The plan for this run interface; a kind Serve cannot host here is one readable line."""
    kind = interface.entry_kind
    if kind not in KINDS:
        raise DeployFailedError(
            f"the ray strategy cannot serve a {kind} entry point ({interface.entrypoint})",
            hint=f"it serves {', '.join(KINDS)}; local in process mode serves every kind",
        )
    if kind in ("asgi", "serve_app"):
        route = interface.route or "/"
        route = route if route.startswith("/") else f"/{route}"
        return AppPlan(kind, ASGI_CLASS if kind == "asgi" else AUTHOR_APP, route)
    return AppPlan(kind, ENTRY_CLASS, "")


def prepare(workspace: Path, interface: RunInterface) -> AppPlan:
    """Write the serving runtime and the entry spec into the workspace; the plan to deploy."""
    if not (workspace / APP_FILE).is_file():
        raise DeployFailedError(
            f"{APP_FILE} is missing from the adapted workspace {workspace}",
            hint="deploy again so the ray strategy's template is rendered",
        )
    chosen = plan(interface)
    install_serving_runtime(workspace)
    spec = interface.model_dump(mode="json")
    (workspace / SPEC_FILE).write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    return chosen
