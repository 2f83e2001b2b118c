"""The contract every strategy's runner fulfils.

A runner is built from a `RunnerContext` (what to run and how) and a serialisable `state` dict
(what it started: a pid, a container id, a URL). The state is saved in the state store after
every change, so a deployment made in one process can be reattached from another.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field

from deployer.models import DeferredModel, Resources, RunInterface

RunnerStatus = Literal["running", "stopped", "failed"]
ReadinessState = Literal["ready", "loading", "failed", "stopped"]


class Readiness(DeferredModel):
    """Whether calls can be served now: `loading` while setup()/load() still runs (a model
    that loads for minutes is not dead), `failed` with the load error, `stopped` when nothing
    answers."""

    state: ReadinessState
    error: str | None = None


class Connection(DeferredModel):
    """How someone outside deployer reaches the deployment: its URL and the headers each
    request needs (the bearer token). Holds a secret: printed on request, never stored."""

    url: str | None
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    paths: dict[str, str] = Field(
        default_factory=dict, description="What is served where, e.g. run: POST /run"
    )


class RunnerContext(DeferredModel):
    """Everything a runner needs to know about its deployment. `env` holds secret values in
    memory only; it is never written to the state store."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    adapted_path: Path
    run_interface: RunInterface
    runtime_dir: Path = Field(description="Per-deployment directory for logs and pid files")
    version: int = Field(
        default=1,
        description="Which version of the name this is: a runner whose platform names things "
        "per deployment (a Serve application, an image tag) keeps each version's apart from "
        "the live one's",
    )
    options: dict[str, Any] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict, repr=False)
    resources: Resources = Field(default_factory=Resources)
    run_timeout: float = 300.0
    startup_timeout: float = 300.0
    progress: Callable[[str], None] | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description="Where long steps (a build, an install) report what they are doing",
    )
    on_state: Callable[[dict[str, Any]], None] | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description="Records the runner state at once (a process the moment it exists)",
    )


def success(output: Any) -> dict[str, Any]:
    return {"status": "success", "output": output}


def failure(message: str) -> dict[str, Any]:
    return {"status": "error", "error": message}


class Runner(ABC):
    """Base class of every strategy's runner.

    Contract: `deploy` blocks until the deployment is healthy (or raises DeployFailedError with
    the reason and the last log lines); `stop` and `remove` are idempotent; `run` returns the
    result envelope and never raises for a failure inside the solution.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, context: RunnerContext, state: dict[str, Any] | None = None) -> None:
        self.context = context
        self.state: dict[str, Any] = dict(state or {})

    def save_state(self) -> None:
        """Record the state now (not only when the operation ends): call it the moment a
        process, container or remote resource exists, so a killed deploy leaves a record
        that `deployer rm` and `deployer doctor` can clean up."""
        if self.context.on_state is not None:
            self.context.on_state(dict(self.state))

    @abstractmethod
    def deploy(self) -> None:
        """Bring the deployment up for the first time and wait until it is healthy."""

    def start(self) -> None:
        """Bring a stopped deployment back. Defaults to deploying again."""
        self.deploy()

    @abstractmethod
    def stop(self) -> None:
        """Stop serving. Calling it on a stopped deployment does nothing."""

    def remove(self) -> None:
        """Release everything the deployment holds. Idempotent."""
        self.stop()

    def discard(self) -> None:
        """Release everything of a version dropped for good (pruned by `--keep`, or an older
        version of a deployment being removed), including what `remove` keeps for a quicker
        next deploy (an image). Idempotent."""
        self.remove()

    @abstractmethod
    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Call the solution: {"status": "success", "output": ...} or {"status": "error", ...}."""

    @abstractmethod
    def is_healthy(self) -> bool:
        """True when `run` can be expected to reach the solution now. Never raises."""

    def logs(self, tail: int | None = None) -> str:
        """The deployment's output (last `tail` lines if given)."""
        return ""

    @property
    def endpoint(self) -> str | None:
        """A URL where the deployment can be reached, if it has one."""
        return None

    @property
    def provider(self) -> str | None:
        """Where it runs, when that depends on options (e.g. 'bentocloud' vs 'bentoml')."""
        return None

    def stream(self, inputs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Partial results as they come, for runners whose config.yaml declares the `stream`
        capability. Each item is an envelope; the default yields the final result once."""
        yield self.run(inputs)

    def status(self) -> RunnerStatus:
        return "running" if self.is_healthy() else "stopped"

    def readiness(self) -> Readiness:
        """Loading, ready, failed or stopped. Runners whose server reports readiness (the
        serving runtime's /readyz) override this; the default knows only healthy or not."""
        return Readiness(state="ready" if self.is_healthy() else "stopped")

    def schema(self) -> dict[str, Any] | None:
        """The JSON Schema of the input object. Runners whose server publishes one (GET
        /schema) override this; the default is read from the entry point's signature as the
        adapter recorded it, or None when it has none."""
        return static_schema(self.context.run_interface)

    def connection(self) -> Connection:
        """The URL and the headers a caller outside deployer needs (see `deployer endpoint`)."""
        return Connection(url=self.endpoint)

    def details(self) -> dict[str, Any]:
        """Facts only the platform knows, shown by `deployer status` (a Serve application's
        replica count and nodes, say). JSON values; the default has none."""
        return {}


def static_schema(interface: RunInterface) -> dict[str, Any] | None:
    """The input schema of a recorded signature: names, types given as plain annotations,
    defaults, Cog-style constraints. Entry points that take the whole body have none."""
    if not interface.signature:
        return None
    from deployer.runtime.serving.schema import input_schema, params_from_spec

    params = params_from_spec([p.model_dump() for p in interface.signature])
    return input_schema(params, additional=interface.calling_convention == "dict")


def static_input_problem(interface: RunInterface, inputs: dict[str, Any]) -> dict[str, Any] | None:
    """The error envelope (with `field`) for inputs that do not fit a recorded keyword
    signature, checked as the serving runtime checks them; None when they fit, or when there
    is nothing to check against. For runners that hand the inputs to a platform that would
    otherwise answer with its own TypeError (an author's Modal function on the cloud)."""
    if not interface.signature or interface.calling_convention == "dict":
        return None
    from deployer.runtime.serving.schema import InputError, Validator, params_from_spec

    params = params_from_spec([p.model_dump() for p in interface.signature])
    try:
        Validator(params, var_keyword=False, fill_defaults=False)(inputs)
    except InputError as exc:
        return {**failure(f"invalid input: {exc}"[:1000]), "field": exc.field}
    return None


def tail_lines(text: str, tail: int | None) -> str:
    if tail is None or tail <= 0:
        return text
    lines = text.splitlines()
    return "\n".join(lines[-tail:]) + ("\n" if lines else "")
