"""The CLI end to end with the real local strategy, every call in its own process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from deployer.testing import DeployerCli, tree_hash
from e2e_support import EXAMPLES


@pytest.fixture
def solution(tmp_path: Path):
    def make(files: dict[str, str]) -> Path:
        root = tmp_path / f"sol{len(list(tmp_path.glob('sol*')))}"
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(textwrap.dedent(text))
        return root

    return make


def test_strategies_lists_local_with_json(cli: DeployerCli):
    result = cli("strategies", "--json")
    assert result.code == 0, result.err
    local = next(row for row in result.json() if row["name"] == "local")
    assert local["package"] == "deployer-local" and local["version"]
    assert (local["status"], local["available"], local["reason"]) == ("ok", True, "")
    detail = cli("strategies", "local")
    assert detail.code == 0 and "mode" in detail.out and "inprocess" in detail.out
    table = cli("strategies")
    assert table.code == 0 and "local" in table.out


def test_select_json_and_text(cli: DeployerCli):
    result = cli("select", str(EXAMPLES / "hello"), "--json")
    assert result.code == 0, result.err
    setting = result.json()
    assert setting["strategy"] == "local" and setting["reasoning"]
    assert setting["ranking"][0]["strategy"] == "local"
    assert {"strategy", "score", "available", "reasons"} <= set(setting["ranking"][0])
    text = cli("select", str(EXAMPLES / "hello"), "--goal", "run it locally")
    assert "Chosen strategy: local" in text.out and "goal says 'locally'" in text.out


def test_full_lifecycle_across_processes(cli: DeployerCli):
    source = EXAMPLES / "sentiment"
    before = tree_hash(source)
    deployed = cli("deploy", str(source), "--name", "senti", "--json")
    assert deployed.code == 0, deployed.err
    info = deployed.json()
    assert (info["name"], info["strategy"], info["status"]) == ("senti", "local", "running")
    assert info["endpoint"].startswith("http://127.0.0.1:")
    assert Path(info["adapted_path"], "deployer_runtime", "__main__.py").is_file()
    assert Path(info["adapted_path"], "deployer_entry.json").is_file()

    first = cli("run", "senti", '{"text": "what a lovely wonderful day"}')
    assert first.code == 0, first.err
    assert first.json()["output"]["label"] == "positive"
    second = cli("run", "senti", stdin='{"text": "dull, broken and useless"}')
    assert second.json()["output"]["label"] == "negative"
    # the same long-lived process answered both calls: the model was loaded once
    assert second.json()["output"]["calls_served_by_this_process"] == 2

    rows = cli("ls", "--json").json()
    assert [(r["name"], r["status"]) for r in rows] == [("senti", "running")]
    assert "POST /run" in cli("logs", "senti").out

    assert cli("stop", "senti").code == 0
    assert cli("ls", "--json").json()[0]["status"] == "stopped"
    stopped = cli("run", "senti", '{"text": "x"}')
    assert stopped.code == 1 and "not running" in stopped.json()["error"]

    assert cli("start", "senti").code == 0
    again = cli("run", "senti", '{"text": "great"}')
    assert again.code == 0 and again.json()["output"]["calls_served_by_this_process"] == 1

    assert cli("rm", "senti").code == 0
    assert cli("ls", "--json").json() == []
    assert not Path(info["adapted_path"]).exists()
    assert cli("run", "senti", "{}").code == 4
    assert tree_hash(source) == before


def test_entry_point_that_raises_keeps_the_deployment_up(cli: DeployerCli, solution):
    root = solution({"main.py": "def predict(n: int):\n    return 100 // n\n"})
    assert cli("deploy", str(root), "--name", "div").code == 0
    failed = cli("run", "div", '{"n": 0}')
    assert failed.code == 1
    assert failed.json()["status"] == "error" and "ZeroDivisionError" in failed.json()["error"]
    assert cli("run", "div", '{"n": 4}').json() == {"status": "success", "output": 25}


@pytest.mark.parametrize(
    ("payload", "message"),
    [("{not json", "input is not valid JSON"), ("[1, 2]", "input must be a JSON object")],
)
def test_bad_run_input(cli: DeployerCli, payload: str, message: str):
    assert (
        cli("deploy", str(EXAMPLES / "hello"), "--name", "h", "--option", "mode=inprocess").code
        == 0
    )
    result = cli("run", "h", payload)
    assert result.code == 2 and message in result.err
    assert "Traceback" not in result.err


def test_bad_paths_and_names(cli: DeployerCli, tmp_path: Path):
    missing = cli("deploy", str(tmp_path / "nope"))
    assert missing.code == 2 and "does not exist" in missing.err
    (tmp_path / "f.py").write_text("")
    not_dir = cli("select", str(tmp_path / "f.py"))
    assert not_dir.code == 2 and "not a directory" in not_dir.err
    unknown = cli("deploy", str(EXAMPLES / "hello"), "--strategy", "nosuch")
    assert unknown.code == 2 and "unknown strategy 'nosuch'" in unknown.err
    assert "installed strategies:" in unknown.err and "local" in unknown.err
    allow = cli("select", str(EXAMPLES / "hello"), "--allow", "nosuch,other")
    assert allow.code == 2 and "'nosuch'" in allow.err
    assert cli("run", "ghost", "{}").code == 4
    for verb in ("logs", "stop", "start", "rm"):
        result = cli(verb, "ghost")
        assert result.code == 4 and "no deployment named 'ghost'" in result.err, verb
    bad_name = cli("deploy", str(EXAMPLES / "hello"), "--name", "Bad Name")
    assert bad_name.code == 2 and "deployment name" in bad_name.err
    for result in (missing, not_dir, unknown, allow, bad_name):
        assert "Traceback" not in result.err


def test_name_taken(cli: DeployerCli):
    # a name that exists gets a new version (issue 15), not "name taken"
    hello = str(EXAMPLES / "hello")
    assert cli("deploy", hello, "--name", "dup", "--option", "mode=inprocess").code == 0
    again = cli("deploy", hello, "--name", "dup", "--option", "mode=inprocess")
    assert again.code == 0 and "deployed dup version 2" in again.out, again.err


def test_options_are_validated(cli: DeployerCli):
    hello = str(EXAMPLES / "hello")
    unknown = cli("deploy", hello, "--option", "colour=red")
    assert unknown.code == 2 and "no option 'colour'" in unknown.err
    assert "mode, port, python" in unknown.err
    bad = cli("deploy", hello, "--option", "mode=cloud")
    assert bad.code == 2 and "expected one of process, inprocess" in bad.err
    malformed = cli("deploy", hello, "--option", "mode")
    assert malformed.code == 2 and "KEY=VALUE" in malformed.err
    assert cli("ls", "--json").json() == []


def test_entry_point_errors(cli: DeployerCli, solution):
    none = cli("deploy", str(solution({"lib.py": "def helper():\n    pass\n"})))
    assert none.code == 2 and "no entry point found" in none.err and "--entrypoint" in none.err
    two = solution({"main.py": "def predict(x): ...\n", "app.py": "def run(x): ...\n"})
    ambiguous = cli("deploy", str(two))
    assert ambiguous.code == 2 and "main:predict" in ambiguous.err and "app:run" in ambiguous.err
    chosen = cli("deploy", str(two), "--entrypoint", "app:run", "--option", "mode=inprocess")
    assert chosen.code == 0, chosen.err


def test_port_in_use(cli: DeployerCli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("deploy", str(EXAMPLES / "hello"), "--option", f"port={port}")
    assert result.code == 5 and f"port {port}" in result.err and "in use" in result.err
    assert cli("ls", "--json").json() == []


@pytest.mark.slow
def test_dependency_install_failure_names_the_package(cli: DeployerCli, solution):
    root = solution(
        {
            "main.py": "def predict(x):\n    return x\n",
            "requirements.txt": "deployer-no-such-package-xyz==9.9.9\n",
        }
    )
    result = cli("deploy", str(root))
    assert result.code == 5 and "deployer-no-such-package-xyz" in result.err
    assert cli("ls", "--json").json() == []


def test_crashed_server_is_reported_and_start_recovers(cli: DeployerCli):
    info = cli("deploy", str(EXAMPLES / "hello"), "--name", "crash", "--json").json()
    pid = info["runner_state"]["pid"]
    os.killpg(os.getpgid(pid), signal.SIGKILL)
    assert cli("ls", "--json").json()[0]["status"] == "failed"
    dead = cli("run", "crash", '{"name": "x"}')
    assert dead.code == 1 and "not running" in dead.json()["error"]
    assert cli("start", "crash").code == 0
    assert cli("run", "crash", '{"name": "Ada"}').json()["output"]["message"] == "Hello, Ada!"


@pytest.mark.slow
def test_third_party_requirement_example(cli: DeployerCli):
    assert cli("deploy", str(EXAMPLES / "slugify"), "--name", "slug").code == 0
    result = cli("run", "slug", '{"text": "Hello, Wörld!"}')
    assert result.json() == {"status": "success", "output": {"slug": "hello-world"}}


def test_env_values_reach_the_solution_but_not_the_store(cli: DeployerCli, solution):
    root = solution({"main.py": "import os\ndef predict():\n    return os.environ['MY_TOKEN']\n"})
    deployed = cli("deploy", str(root), "--name", "envy", "--env", "MY_TOKEN=tok-12345", "--json")
    assert deployed.code == 0, deployed.err
    assert deployed.json()["env_keys"] == ["MY_TOKEN"]
    assert cli("run", "envy", "{}").json()["output"] == "tok-12345"
    assert b"tok-12345" not in (cli.home / "state.db").read_bytes()
    assert "tok-12345" not in cli("logs", "envy").out
    # restarting from another process still has the value
    assert cli("stop", "envy").code == 0 and cli("start", "envy").code == 0
    assert cli("run", "envy", "{}").json()["output"] == "tok-12345"


def test_help_does_not_import_heavy_modules(tmp_path: Path):
    probe = textwrap.dedent(
        """
        import sys
        sys.argv = ["deployer", "--help"]
        from deployer.cli.main import main
        try:
            main()
        except SystemExit:
            pass
        heavy = {"docker", "modal", "bentoml", "langgraph", "langgraph_sdk", "litellm",
                 "httpx", "rich", "deployer.plugins.registry", "deployer_local"}
        print(sorted(heavy & set(sys.modules)))
        """
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_demo_runs(tmp_path: Path):
    env = {**os.environ, "DEPLOYER_HOME": str(tmp_path / "home")}
    demo = Path(EXAMPLES / "demo.py")
    proc = subprocess.run(
        [sys.executable, str(demo)], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "'label': 'positive'" in proc.stdout and "removed" in proc.stdout
    assert not os.listdir(tmp_path / "home" / "workspaces")


def test_strategies_and_select_import_no_platform_sdk(tmp_path: Path):
    """Availability is checked for every installed strategy: without importing their SDKs
    (find_spec of a dotted name imports its parent package: `ray.serve` costs seconds)."""
    solution = tmp_path / "solution"
    solution.mkdir()
    (solution / "main.py").write_text("def predict(text: str) -> str:\n    return text\n")
    probe = textwrap.dedent(
        f"""
        import sys
        from click.testing import CliRunner
        from deployer.cli.main import main
        runner = CliRunner()
        for args in (["strategies", "--json"], ["select", {str(solution)!r}, "--json"]):
            result = runner.invoke(main, args)
            assert result.exit_code == 0, result.output
        sdks = {{"docker", "modal", "bentoml", "langgraph", "langgraph_sdk", "litellm", "ray"}}
        print(sorted(sdks & set(sys.modules)))
        """
    )
    env = {**os.environ, "DEPLOYER_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"
