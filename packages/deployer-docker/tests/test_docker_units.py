"""Parts that need no engine: the socket ping, requirements, wheel targets, build errors,
templates, selection, and what users see when the engine is unreachable."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer.adapter.agent import AdapterAgent
from deployer.errors import DeployFailedError, RunnerError
from deployer.models import DeploymentSetting, Resources, RunInterface, SolutionResult
from deployer.plugins.registry import StrategyRegistry
from deployer.runtime.runner import RunnerContext
from deployer.selector.agent import SelectorAgent
from deployer.testing import tree_hash
from deployer_docker import container as ct
from deployer_docker import workspace
from deployer_docker.availability import check_engine, published_host
from deployer_docker.build import BuildLog
from deployer_docker.requirements import read_requirements
from deployer_docker.runner import DockerRunner
from deployer_docker.wheelhouse import Target
from docker_support import EXAMPLES, Cli, write_solution

# -- the engine ping over real sockets -------------------------------------------------------


class UnixServer:
    """A UNIX socket server answering each connection with fixed bytes (or never)."""

    def __init__(self, path: Path, answer: bytes | None) -> None:
        self.path = path
        self.answer = answer
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(4)
        self.stopped = threading.Event()
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.answer is None:
                self.held.append(conn)  # accept, read nothing, never answer
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(self.answer)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """UNIX socket paths must be short (108 bytes); pytest's tmp_path can be longer."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dkr") as name:
        yield Path(name)


def test_ping_answers_ok(short_tmp: Path) -> None:
    server = UnixServer(short_tmp / "ok.sock", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
    try:
        result = check_engine({"DOCKER_HOST": f"unix://{short_tmp / 'ok.sock'}"})
    finally:
        server.close()
    assert result.available, result.reason


def test_ping_missing_socket_says_where(short_tmp: Path) -> None:
    result = check_engine({"DOCKER_HOST": f"unix://{short_tmp / 'none.sock'}"})
    assert not result.available
    assert result.reason == f"no Docker engine socket at {short_tmp / 'none.sock'}"
    assert "DOCKER_HOST" in result.hint


def test_ping_refused_socket(short_tmp: Path) -> None:
    path = short_tmp / "dead.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))  # bound, never listening: connections are refused
    try:
        result = check_engine({"DOCKER_HOST": f"unix://{path}"})
    finally:
        sock.close()
    assert not result.available
    assert "nothing listens" in result.reason


def test_ping_silent_engine_times_out_quickly(short_tmp: Path) -> None:
    server = UnixServer(short_tmp / "mute.sock", None)
    try:
        started = time.monotonic()
        result = check_engine({"DOCKER_HOST": f"unix://{short_tmp / 'mute.sock'}"}, timeout=0.3)
        took = time.monotonic() - started
    finally:
        server.close()
    assert not result.available
    assert "did not answer within 0.3s" in result.reason
    assert took < 5  # bounded by the timeout, not by the engine


def test_ping_wrong_answer(short_tmp: Path) -> None:
    server = UnixServer(short_tmp / "nginx.sock", b"HTTP/1.1 404 Not Found\r\n\r\n")
    try:
        result = check_engine({"DOCKER_HOST": f"unix://{short_tmp / 'nginx.sock'}"})
    finally:
        server.close()
    assert not result.available
    assert "404" in result.reason


def test_ping_refused_tcp_and_bad_scheme() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused = check_engine({"DOCKER_HOST": f"tcp://127.0.0.1:{port}"})
    assert not refused.available and "cannot connect" in refused.reason
    bad = check_engine({"DOCKER_HOST": "ftp://example"})
    assert not bad.available and "not an address" in bad.reason


def test_published_host_follows_the_engine() -> None:
    assert published_host("unix:///var/run/docker.sock") == "127.0.0.1"
    assert published_host("tcp://10.1.2.3:2375") == "10.1.2.3"
    assert published_host("tcp://localhost:2375") == "127.0.0.1"


# -- availability and deploy with the engine unreachable ------------------------------------


def test_availability_names_the_reason(
    registry: StrategyRegistry, short_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{short_tmp / 'gone.sock'}")
    fresh = StrategyRegistry(enabled=["docker"])
    result = fresh.availability("docker")
    assert not result.available
    assert "no Docker engine socket" in result.reason
    with_options = fresh.availability("docker", {"network_mode": "host"})
    assert not with_options.available


def test_plugin_module_does_not_import_the_sdk() -> None:
    import subprocess

    probe = (
        "import sys, deployer_docker; "
        "from deployer_docker.availability import check_engine; check_engine(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('docker', 'requests') "
        "or m == 'deployer_docker.runner'))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_with_engine_unreachable(tmp_path: Path, short_tmp: Path) -> None:
    """`deployer strategies` lists docker as unavailable with the reason; a deploy says so in
    one line, with exit code 3, and leaves nothing behind."""
    cli = Cli(tmp_path / "home", {"DOCKER_HOST": f"unix://{short_tmp / 'gone.sock'}"})
    listing = cli("strategies", "--json")
    assert listing.code == 0, listing.err
    rows = {row["name"]: row for row in json.loads(listing.out)}
    assert rows["docker"]["available"] is False
    assert "no Docker engine socket" in json.dumps(rows["docker"])
    deploy = cli("deploy", str(EXAMPLES / "hello"), "--strategy", "docker")
    assert deploy.code == 3
    assert "Traceback" not in deploy.err
    assert "docker" in deploy.err and "no Docker engine socket" in deploy.err
    assert len(deploy.err.strip().splitlines()) <= 2  # the error and its hint
    assert json.loads(cli("ls", "--json").out) == []


def test_runner_with_engine_gone_raises_one_clear_error(
    tmp_path: Path, short_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recorded deployment whose engine went away: stop/logs raise RunnerError, run returns
    the error envelope, is_healthy is False; nothing from the SDK escapes."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{short_tmp / 'gone.sock'}")
    context = RunnerContext(
        name="orphan",
        adapted_path=tmp_path,
        run_interface=RunInterface(entrypoint="main:predict"),
        runtime_dir=tmp_path / "rt",
    )
    state = {
        "mode": "generated",
        "image_id": "sha256:" + "0" * 64,
        "container_id": "f" * 64,
        "network_mode": "host",
        "host": "127.0.0.1",
        "port": 9,
        "predict_path": "/run",
        "health_path": "/health",
    }
    runner = DockerRunner(context, state)
    with pytest.raises(RunnerError, match="Docker engine is not reachable"):
        runner.stop()
    with pytest.raises(RunnerError, match="Docker engine is not reachable"):
        runner.logs()
    assert runner.is_healthy() is False
    assert runner.status() == "failed"
    result = runner.run({"x": 1})
    assert result["status"] == "error"
    assert "not running" in result["error"] or "cannot reach" in result["error"]


# -- requirements, wheel targets, limits ---------------------------------------------------


def test_requirements_are_flattened(tmp_path: Path) -> None:
    write_solution(
        tmp_path,
        {
            "requirements.txt": """
                # main
                --index-url https://pypi.example/simple
                -r base.txt
                python-slugify>=8  # inline comment
            """,
            "base.txt": "httpx==0.28.1\n",
            "pyproject.toml": """
                [project]
                name = "x"
                dependencies = ["pyyaml>=6", "httpx==0.28.1"]
            """,
        },
    )
    reqs = read_requirements(tmp_path)
    assert reqs.lines == ["httpx==0.28.1", "python-slugify>=8", "pyyaml>=6"]
    assert reqs.index_options == ["--index-url https://pypi.example/simple"]
    assert reqs.text(with_index_options=False).splitlines()[0] == "httpx==0.28.1"


@pytest.mark.parametrize(
    ("line", "words"),
    [("-e .", "local files"), ("./pkg", "local files"), ("-c pins.txt", "constraint")],
)
def test_requirements_that_cannot_go_into_an_image(tmp_path: Path, line: str, words: str) -> None:
    write_solution(tmp_path, {"requirements.txt": f"{line}\n"})
    with pytest.raises(DeployFailedError, match=words):
        read_requirements(tmp_path)


def test_wheel_target_platforms() -> None:
    glibc = Target("3.11", "cpython", "x86_64", "glibc", "2.36")
    tags = glibc.platforms()
    assert tags[0] == "manylinux_2_36_x86_64"
    assert "manylinux_2_17_x86_64" in tags and "manylinux2014_x86_64" in tags
    assert "manylinux1_x86_64" in tags and tags[-1] == "linux_x86_64"
    args = glibc.download_args()
    assert args[:5] == ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp"]
    assert "cp311" in args
    musl = Target("3.12", "cpython", "aarch64", "musl", "")
    assert musl.platforms()[0] == "musllinux_1_2_aarch64"


def test_memory_and_cpu_limits() -> None:
    assert ct.parse_memory("512m") == 512 * 1024**2
    assert ct.parse_memory("2Gi") == 2 * 1024**3
    assert ct.parse_memory("1.5G") == int(1.5 * 1024**3)
    assert ct.parse_memory("1048576") == 1048576
    with pytest.raises(DeployFailedError, match="not understood"):
        ct.parse_memory("lots")
    assert ct.limits(0.5, "256Mi") == {"nano_cpus": 500_000_000, "mem_limit": 256 * 1024**2}
    assert ct.limits(None, None) == {}


def test_names_are_unique_and_valid() -> None:
    first, second = ct.container_name("my.app_1"), ct.container_name("my.app_1")
    assert first != second
    assert first.startswith("deployer-my-app-1-")
    assert ct.image_tag("My..App") == "deployer/my-app:v1"
    assert ct.image_tag("My..App", 3) == "deployer/my-app:v3"


def test_build_failure_names_the_step_and_its_output(tmp_path: Path) -> None:
    log = BuildLog(tmp_path / "build.log")
    seen: list[str] = []
    log.add("Step 1/3 : FROM base\n ---> abc\nStep 2/3 : RUN make\n", seen.append)
    log.add(" ---> Running in 123\ncompil", seen.append)  # a chunk may cut a line
    log.add("ing frob.c\nfrob.c:1: error: boom\n", seen.append)
    error = log.failure("The command '/bin/sh -c make' returned a non-zero code: 2", "base")
    text = str(error)
    assert "failed at Step 2/3 : RUN make" in text
    assert "compiling frob.c" in text and "frob.c:1: error: boom" in text
    assert "returned a non-zero code: 2" in text
    assert "build.log" in text
    assert seen == ["building image: Step 1/3 : FROM base", "building image: Step 2/3 : RUN make"]
    from_error = BuildLog(tmp_path / "b2.log")
    from_error.add("Step 1/2 : FROM nowhere:1\n", seen.append)
    assert "base_image" in str(from_error.failure("pull access denied", "nowhere:1"))


# -- templates and selection -----------------------------------------------------------------


def test_templates_render_into_a_copy(registry: StrategyRegistry, tmp_path: Path) -> None:
    source = write_solution(tmp_path / "src", {"main.py": "def predict(x):\n    return x\n"})
    before = tree_hash(source)
    result = AdapterAgent(registry).adapt(
        SolutionResult(code_path=source),
        DeploymentSetting(strategy="docker", reasoning="test"),
        options={"base_image": "example/python:3.12"},
    )
    assert tree_hash(source) == before
    dockerfile = (result.adapted_path / "Dockerfile").read_text()
    assert dockerfile.startswith(workspace.GENERATED_MARKER)
    assert "ARG BASE_IMAGE=example/python:3.12" in dockerfile
    for needle in ("/opt/venv", "USER 10001", "HEALTHCHECK", "PATH=/opt/venv/bin:$PATH"):
        assert needle in dockerfile
    assert "deployer_runtime" in dockerfile and "deployer_server" not in dockerfile
    assert not (result.adapted_path / "deployer_server.py").exists()
    spec = json.loads((result.adapted_path / "deployer_entry.json").read_text())
    assert spec["entrypoint"] == "main:predict"
    assert workspace.dockerfile_mode(result.adapted_path) == "generated"
    assert (result.adapted_path / "deployer-wheels").is_dir()


def test_a_solution_dockerfile_is_kept(registry: StrategyRegistry) -> None:
    result = AdapterAgent(registry).adapt(
        SolutionResult(code_path=EXAMPLES / "docker_webapp"),
        DeploymentSetting(strategy="docker", reasoning="test"),
    )
    assert "kept the solution's own Dockerfile" in result.validation
    assert workspace.dockerfile_mode(result.adapted_path) == "own"


def test_own_dockerfile_without_predict_path_is_refused(
    registry: StrategyRegistry, tmp_path: Path
) -> None:
    result = AdapterAgent(registry).adapt(
        SolutionResult(code_path=EXAMPLES / "docker_webapp"),
        DeploymentSetting(strategy="docker", reasoning="test"),
    )
    context = RunnerContext(
        name="web",
        adapted_path=result.adapted_path,
        run_interface=result.run_interface,
        runtime_dir=tmp_path / "rt",
        options=registry.get_strategy("docker").config.resolve_options({}),
        resources=Resources(),
    )
    with pytest.raises(DeployFailedError, match="own Dockerfile") as caught:
        DockerRunner(context).deploy()
    assert "predict_path" in str(caught.value)


def test_selector_prefers_docker_for_dockerised_web_apps(tmp_path: Path) -> None:
    registry = StrategyRegistry(enabled=["docker", "local"])
    solution = SolutionResult(code_path=EXAMPLES / "docker_webapp")
    setting = SelectorAgent(registry).select(solution)
    scores = {score.strategy: score for score in setting.ranking}
    assert any("Dockerfile" in reason for reason in scores["docker"].reasons)
    assert scores["docker"].score > scores["local"].score
    goal = SolutionResult(
        code_path=EXAMPLES / "hello", goal="a reproducible, isolated container for the greeter"
    )
    ranked = {s.strategy: s.score for s in SelectorAgent(registry).rank(goal)}
    assert ranked["docker"] > ranked["local"]
