"""Preparing the adapted copy as a build context: which Dockerfile it has, core's serving
runtime (`deployer_runtime/`) and the entry spec (`deployer_entry.json`) it serves, the flat
`deployer-requirements.txt` the generated Dockerfile installs, the `.dockerignore` derived from
core's ignore rules, and (with the `wheelhouse` option) the wheels downloaded on the host for
the base image's Python.

The engine is reached only through `deployer_docker.sdk` (inspecting, pulling and probing
the base image); this module never imports the docker SDK.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deployer.plugin import (
    DeployFailedError,
    RunnerContext,
    cache_dir,
    install_serving_runtime,
    project_install,
)
from deployer_docker import sdk
from deployer_docker import wheelhouse as wh
from deployer_docker.dockerignore import write_dockerignore
from deployer_docker.requirements import OUTPUT_FILE, read_requirements

GENERATED_MARKER = "# deployer-docker: generated Dockerfile"
DEFAULT_BASE_IMAGE = "python:3.11-slim"
WHEELS_DIR = "deployer-wheels"
WHEELHOUSE_LOG = "wheelhouse.log"
SPEC_FILE = "deployer_entry.json"
RUNTIME_PACKAGE = "deployer_runtime"
# what the generated Dockerfile needs in the build context, whatever the ignore rules say
BUILD_FILES = frozenset({"Dockerfile", SPEC_FILE, RUNTIME_PACKAGE, OUTPUT_FILE, WHEELS_DIR})
Progress = Callable[[str], None]


def dockerfile_mode(workspace: Path) -> str:
    """'generated' for the strategy's own template, 'own' for a solution's Dockerfile."""
    path = workspace / "Dockerfile"
    try:
        first = path.read_text(encoding="utf-8", errors="replace").lstrip().splitlines()[:1]
    except OSError:
        raise DeployFailedError(
            f"the adapted workspace {workspace} has no Dockerfile",
            hint="deploy again so the docker strategy's template is rendered",
        ) from None
    return "generated" if first and first[0].startswith(GENERATED_MARKER) else "own"


def prepare(
    context: RunnerContext, client: Any, base_image: str, runtime_dir: Path, progress: Progress
) -> dict[str, str]:
    """Write the runtime, the entry spec, deployer-requirements.txt, the .dockerignore and,
    with the wheelhouse option, the wheels; return the build arguments of the generated
    Dockerfile."""
    workspace = context.adapted_path
    install_serving_runtime(workspace)  # this core's runtime, replacing any older copy
    spec = context.run_interface.model_dump(mode="json")
    (workspace / SPEC_FILE).write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    requirements = read_requirements(workspace)
    use_wheelhouse = bool(context.options.get("wheelhouse"))
    text = requirements.text(with_index_options=not use_wheelhouse)
    (workspace / WHEELS_DIR).mkdir(exist_ok=True)
    project = project_install(workspace)
    if project.installable:  # src layout, re-exports: imports work once the project is installed
        progress(f"building the solution's own project ({project.reason})")
        wheel = wh.build_project_wheel(
            workspace,
            BUILD_FILES | {".dockerignore"},
            project.env,
            workspace / WHEELS_DIR,
            runtime_dir / WHEELHOUSE_LOG,
        )
        text += f"/opt/deployer/{wheel}\n"  # its dependencies are among the requirements
    if use_wheelhouse and text:
        text = f"--no-index\n--find-links /opt/deployer\n{text}"
    (workspace / OUTPUT_FILE).write_text(text, encoding="utf-8")
    if use_wheelhouse and not requirements.empty:
        target = probe_python(client, base_image, progress)
        progress(f"downloading wheels for Python {target.version} (wheelhouse)")
        house = wh.build_wheelhouse(
            requirements.text(with_index_options=True), target, runtime_dir / WHEELHOUSE_LOG
        )
        names = wh.fill_context(house, workspace / WHEELS_DIR)
        progress(f"wheelhouse ready: {len(names)} wheels")
    write_dockerignore(workspace, BUILD_FILES)
    return {"BASE_IMAGE": base_image}


def probe_python(client: Any, base_image: str, progress: Progress) -> wh.Target:
    """The base image's Python (version, libc, machine), cached by image id."""
    image = sdk.get_or_pull_image(client, base_image, progress)
    cache = cache_dir("docker-probes") / f"{image.id.replace(':', '-')}.json"
    if cache.is_file():
        return wh.Target.parse(cache.read_text(encoding="utf-8"))
    progress(f"checking the Python of {base_image}")
    try:
        text = sdk.run_once(client, image.id, ["python3", "-c", wh.PROBE])
        target = wh.Target.parse(text)
    except Exception as exc:
        raise DeployFailedError(
            f"the base image {base_image!r} has no working python3: {sdk.describe(exc)}",
            hint="the base image needs python3 with the venv module "
            "(e.g. python:3.11-slim, or Debian's python3 + python3-venv)",
        ) from None
    cache.write_text(text, encoding="utf-8")
    return target
