"""The build context of the generated image, without an engine: core's serving runtime and the
entry spec go in, the `.dockerignore` comes from core's ignore rules, the requirements include
what the solution's manifests list, an installable project goes in as its own wheel, and the
token never enters the context."""

from __future__ import annotations

import json
from pathlib import Path

from deployer.adapter.agent import AdapterAgent
from deployer.models import DeploymentSetting, SolutionResult
from deployer.plugins.registry import StrategyRegistry
from deployer.runtime.runner import RunnerContext
from deployer.runtime.serving_install import serving_runtime_files
from deployer_docker import dockerignore, workspace
from deployer_docker.requirements import OUTPUT_FILE
from deployer_docker.runner import port_taken
from docker_support import EXAMPLES, write_solution


def adapted(registry: StrategyRegistry, source: Path, tmp_path: Path) -> RunnerContext:
    result = AdapterAgent(registry).adapt(
        SolutionResult(code_path=source), DeploymentSetting(strategy="docker", reasoning="test")
    )
    return RunnerContext(
        name="ctx",
        adapted_path=result.adapted_path,
        run_interface=result.run_interface,
        runtime_dir=tmp_path / "runtime",
        options=registry.get_strategy("docker").config.resolve_options({}),
    )


def test_prepare_puts_the_runtime_and_the_spec_into_the_context(
    registry: StrategyRegistry, tmp_path: Path
) -> None:
    source = write_solution(tmp_path / "src", {"main.py": "def predict(text):\n    return text\n"})
    context = adapted(registry, source, tmp_path)
    args = workspace.prepare(context, None, "base:1", tmp_path / "runtime", lambda _: None)
    assert args == {"BASE_IMAGE": "base:1"}
    work = context.adapted_path
    runtime = sorted(p.name for p in (work / "deployer_runtime").glob("*.py"))
    assert runtime == serving_runtime_files() and "__main__.py" in runtime
    spec = json.loads((work / "deployer_entry.json").read_text())
    assert spec["entrypoint"] == "main:predict" and spec["entry_kind"] == "function"
    assert not list(work.rglob("*token*"))  # the token lives beside the state, not in the image


def test_dockerignore_lists_exactly_what_the_rules_leave_out(tmp_path: Path) -> None:
    """Entries that appeared in the workspace after the copy and that the rules (defaults and
    the solution's own .gitignore / .dockerignore) leave out are excluded by exact path;
    deployer's build files never are, even when the solution's patterns match them."""
    work = write_solution(
        tmp_path / "work",
        {
            "main.py": "def predict(x):\n    return x\n",
            ".gitignore": "*.log\n",
            ".dockerignore": "*.txt\nscratch/\n",
            "keep/data.csv": "a,b\n",
            "notes.log": "debug\n",
            "weird[1]*.log": "odd name\n",
            "#hash.log": "starts like a comment\n",
            "scratch/tmp.bin": "x",
            "__pycache__/main.cpython-311.pyc": "",
            "keep/__pycache__/x.pyc": "",
            "env-dir/pyvenv.cfg": "home = /usr\n",
            OUTPUT_FILE: "httpx\n",
            "deployer_entry.json": "{}",
            "deployer_runtime/__main__.py": "",
        },
    )
    (work / workspace.WHEELS_DIR).mkdir()
    entries = dockerignore.write_dockerignore(work, workspace.BUILD_FILES)
    assert entries == [
        "#hash.log",
        "__pycache__",
        "env-dir",
        "keep/__pycache__",
        "notes.log",
        "scratch",
        "weird[1]*.log",
    ]
    text = (work / ".dockerignore").read_text()
    assert text.startswith("# deployer-docker: generated from deployer's ignore rules")
    lines = [line for line in text.splitlines() if not line.startswith("# ")]
    assert "/#hash.log" in lines and "/weird\\[1]\\*.log" in lines
    for build_file in (OUTPUT_FILE, "deployer_entry.json", "deployer_runtime", "Dockerfile"):
        assert not any(build_file in line for line in lines)


def test_dockerignore_escapes_what_a_pattern_line_cannot_hold() -> None:
    assert dockerignore.escape("a?b") == "/a\\?b"
    assert dockerignore.escape("back\\slash") == "/back\\\\slash"
    assert dockerignore.escape("trailing  ") == "/trailing??"
    assert dockerignore.escape("line\nbreak") == "/line?break"
    assert dockerignore.escape("!important") == "/!important"


def test_a_clean_workspace_excludes_nothing(registry: StrategyRegistry, tmp_path: Path) -> None:
    context = adapted(registry, EXAMPLES / "hello", tmp_path)
    workspace.prepare(context, None, "base:1", tmp_path / "runtime", lambda _: None)
    text = (context.adapted_path / ".dockerignore").read_text()
    assert [line for line in text.splitlines() if not line.startswith("#")] == []


def test_manifest_requirements_reach_the_image(registry: StrategyRegistry, tmp_path: Path) -> None:
    """cog.yaml's build.python_packages are installed in the image like requirements.txt."""
    context = adapted(registry, EXAMPLES / "published" / "cog_predictor", tmp_path)
    workspace.prepare(context, None, "base:1", tmp_path / "runtime", lambda _: None)
    lines = (context.adapted_path / OUTPUT_FILE).read_text().splitlines()
    assert "cog>=0.10" in lines
    assert not any("deployer-requirements" in line for line in lines)  # not our own Dockerfile


def test_an_installable_project_goes_in_as_its_own_wheel(
    registry: StrategyRegistry, tmp_path: Path
) -> None:
    """src layout with a version from git (hatch-vcs), built by the real pip from a copy
    without deployer's files: the wheel holds the author's package only, and the image's
    requirements install it."""
    import zipfile

    context = adapted(registry, EXAMPLES / "published" / "src_layout_pkg", tmp_path)
    workspace.prepare(context, None, "base:1", tmp_path / "runtime", lambda _: None)
    lines = (context.adapted_path / OUTPUT_FILE).read_text().splitlines()
    assert lines == ["/opt/deployer/textstats-0.0.0-py3-none-any.whl"]
    wheel = context.adapted_path / workspace.WHEELS_DIR / Path(lines[0]).name
    tops = {name.split("/", 1)[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"textstats", "textstats-0.0.0.dist-info"}


def test_a_taken_host_port_is_told_from_other_start_failures() -> None:
    import docker.errors

    taken = docker.errors.APIError(
        "500 Server Error",
        explanation="driver failed programming external connectivity on endpoint x: "
        "Bind for 127.0.0.1:40123 failed: port is already allocated",
    )
    other = docker.errors.APIError("500 Server Error", explanation="no such image")
    assert port_taken(taken) and not port_taken(other)
