"""target=auto (the default): cloud when a server URL is configured, else dev.

Not a runner of its own: constructing it gives the runner of the target it resolves to. The
target is fixed at deploy time in the state, so a reattached runner never flips with the
environment. It subclasses the dev runner only so that its class attributes (the interface
the conformance kit checks) are those of the target chosen where no URL is set.
"""

from __future__ import annotations

from typing import Any

from deployer.plugin import Runner, RunnerContext
from deployer_langgraph.availability import resolve_target
from deployer_langgraph.targets.cloud import LangGraphCloudRunner
from deployer_langgraph.targets.dev import LangGraphDevRunner

TARGETS: dict[str, type[Runner]] = {"dev": LangGraphDevRunner, "cloud": LangGraphCloudRunner}


class LangGraphAutoRunner(LangGraphDevRunner):
    """target=auto: `LangGraphAutoRunner(context, state)` is a dev or a cloud runner."""

    def __new__(cls, context: RunnerContext, state: dict[str, Any] | None = None) -> Any:
        target = str((state or {}).get("target") or resolve_target(context.options))
        return TARGETS[target](context, state)
