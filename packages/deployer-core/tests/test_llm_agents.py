"""Coding-agent adaptation: the llm-editor through litellm against the scripted server, and
external CLI agents as real subprocesses (fake scripts on PATH)."""

from __future__ import annotations

import json
import os
import textwrap

import pytest
from click.testing import CliRunner
from llm_support import MODEL, SECRET, fake_agent, scripted_llm

from deployer.adapter.agent import AdapterAgent
from deployer.adapter.agents import list_agents, load_agent
from deployer.deployment.factory import DeploymentFactory
from deployer.errors import AdaptationError, EntrypointError, StrategyUnavailableError, UsageError
from deployer.models import DeployConfig, DeploymentSetting, SolutionResult
from deployer.paths import cache_dir
from deployer.plugins.registry import StrategyRegistry
from deployer.testing import tree_hash

NO_ENTRY = {
    "lib/scoring.py": "def score(text):\n    return {'length': len(text)}\n",
    "README.md": "# Scorer\n\nScores texts by length.\n",
}
APP = "from lib.scoring import score\n\n\ndef predict(text):\n    return score(text)\n"
# the test runner loads the entry point's file alone, so what it deploys imports nothing local
APP_ALONE = "def predict(text):\n    return {'length': len(text)}\n"


def write(path: str, content: str) -> str:
    return f"<<<<<<< WRITE {path}\n{content.rstrip()}\n>>>>>>> END\n"


def interface(entrypoint: str = "app:predict", convention: str = "kwargs") -> str:
    body = {"kind": "function", "entrypoint": entrypoint, "calling_convention": convention}
    return f"<run_interface>{json.dumps(body)}</run_interface>"


@pytest.fixture
def llm(home, monkeypatch, request):
    yield from scripted_llm(monkeypatch, request)


@pytest.fixture
def registry(plugins, home):
    return StrategyRegistry([plugins.make("plain")])


@pytest.fixture
def setting():
    return DeploymentSetting(strategy="plain", reasoning="test")


@pytest.fixture
def no_entry(make_solution):
    return make_solution(NO_ENTRY)


def adapt(registry, root, setting, **kwargs):
    kwargs.setdefault("llm_model", MODEL)
    return AdapterAgent(registry).adapt(SolutionResult(code_path=root), setting, **kwargs)


# -- the llm-editor ---------------------------------------------------------------------------


def test_llm_editor_fixes_the_wrong_file_after_validation_feedback(
    llm, registry, setting, no_entry
):
    before = tree_hash(no_entry)
    llm.script(
        "I will add a serving module.\n" + write("serve.py", APP) + interface("app:predict"),
        "Sorry, wrong file name.\n" + write("app.py", APP) + interface("app:predict"),
    )
    result = adapt(registry, no_entry, setting, coding_agent="llm-editor", name="scorer")
    assert (result.method, result.agent) == ("coding_agent", "llm-editor")
    assert result.run_interface.entrypoint == "app:predict"
    assert result.run_interface.calling_convention == "kwargs"
    assert result.run_interface.parameters == ["text"]
    assert {"app.py", "serve.py", "deployer_entry.txt"} <= set(result.files_changed)
    rendered = (result.adapted_path / "deployer_entry.txt").read_text()
    assert rendered.startswith("entry=app:predict convention=kwargs")
    assert "entry point app:predict imports" in result.validation
    assert tree_hash(no_entry) == before  # the original is never written
    # the validation problem was fed back into the same conversation
    assert len(llm.requests) == 2
    feedback = llm.requests[1]["messages"][-1]["content"]
    assert "module 'app' not found" in feedback
    assert llm.requests[1]["messages"][-2]["role"] == "assistant"
    first_prompt = llm.prompt_text(0)
    assert "Adapt for plain." in first_prompt  # the strategy's adapter_instruction.md
    assert "Scores texts by length." in first_prompt  # the goal, from the README
    assert "--- lib/scoring.py ---" in first_prompt  # the relevant files
    assert "<run_interface>" in first_prompt and "<<<<<<< WRITE" in first_prompt
    log = result.log_path.read_text()
    assert "llm-editor reply" in log and "round 1: problems" in log


def test_agent_deploys_and_runs_end_to_end(llm, registry, no_entry):
    llm.script(write("app.py", APP_ALONE) + interface())
    config = DeployConfig(
        solution=SolutionResult(code_path=no_entry),
        strategy="plain",
        name="scored",
        llm_model=MODEL,
        coding_agent="llm-editor",
    )
    with DeploymentFactory(registry).create(config) as software:
        assert software.run({"text": "hello"}) == {"status": "success", "output": {"length": 5}}
        info = software.info
    assert info.run_interface.entrypoint == "app:predict"
    runner = CliRunner()
    shown = runner.invoke(_cli(), ["logs", "scored", "--adaptation"])
    assert shown.exit_code == 0 and "llm-editor reply" in shown.output


def test_edits_escaping_the_workspace_are_refused_and_reported(
    llm, registry, setting, make_solution, tmp_path
):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = make_solution(NO_ENTRY)
    os.symlink(outside, root / "data")  # a symlink in the solution that leads out
    llm.script(
        write("../escaped.txt", "nope")
        + write(str(tmp_path / "absolute.txt"), "nope")
        + write("data/pwned.txt", "nope")
        + write("lib/../../up.txt", "nope")
        + write("app.py", APP)
        + interface()
    )
    result = adapt(registry, root, setting, coding_agent="llm-editor")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "absolute.txt").exists()
    assert not (outside / "pwned.txt").exists() and not (tmp_path / "up.txt").exists()
    assert list(outside.iterdir()) == []
    refused = [note for note in result.validation if note.startswith("refused edit")]
    # the symlink that leads out is not copied at all: data/pwned.txt lands in the workspace
    assert len(refused) == 3
    assert not (result.adapted_path / "data").is_symlink()
    assert any("point outside the solution: data" in note for note in result.left_out)
    assert any("'..' leads outside" in note for note in refused)
    assert any("absolute path" in note for note in refused)
    assert "[refused]" in result.log_path.read_text()


def test_run_interface_missing_gets_one_correction(llm, registry, setting, no_entry):
    llm.script(write("app.py", APP) + "Done!", interface())
    result = adapt(registry, no_entry, setting, coding_agent="llm-editor")
    assert result.run_interface.entrypoint == "app:predict"
    assert "<run_interface>" in llm.requests[1]["messages"][-1]["content"]
    assert "does not end with a <run_interface>" in llm.requests[1]["messages"][-1]["content"]


def test_run_interface_invalid_twice_is_a_clear_error(llm, registry, setting, no_entry):
    llm.script(
        write("app.py", APP) + "<run_interface>{not json}</run_interface>",
        '<run_interface>{"entrypoint": "app"}</run_interface>',
    )
    with pytest.raises(AdaptationError, match="did not declare a valid run interface") as caught:
        adapt(registry, no_entry, setting, coding_agent="llm-editor", name="bad")
    assert "module:function" in caught.value.message
    # the log outlives the rolled-back deployment
    assert "coding agent's log" in caught.value.hint
    kept = list(cache_dir("failed-adaptations").glob("bad-*.log"))
    assert len(kept) == 1 and "llm-editor reply" in kept[0].read_text()


def test_rounds_are_limited(llm, registry, setting, no_entry, monkeypatch):
    monkeypatch.setenv("DEPLOYER_AGENT_ROUNDS", "2")
    broken = write("app.py", "def predict(text:\n    pass\n") + interface()
    llm.script(broken, broken)
    with pytest.raises(AdaptationError, match=r"in 2 round\(s\).*syntax error at line 1"):
        adapt(registry, no_entry, setting, coding_agent="llm-editor")
    assert len(llm.requests) == 2


def test_import_failure_is_fed_back(llm, registry, setting, no_entry):
    llm.script(
        write("app.py", "raise RuntimeError('boom at import')\n\ndef predict(text):\n    pass\n")
        + interface(),
        write("app.py", APP) + interface(),
    )
    result = adapt(registry, no_entry, setting, coding_agent="llm-editor")
    assert result.run_interface.entrypoint == "app:predict"
    assert "RuntimeError: boom at import" in llm.requests[1]["messages"][-1]["content"]


def test_missing_third_party_dependency_is_noted_not_failed(llm, registry, setting, no_entry):
    llm.script(
        write("app.py", "import surely_not_installed_xyz\n\ndef predict(text):\n    return text\n")
        + interface()
    )
    result = adapt(registry, no_entry, setting, coding_agent="llm-editor")
    assert any("not import-checked" in note for note in result.validation)


def test_strategy_smoke_check_failure_is_fed_back(llm, plugins, home, setting, no_entry):
    init = textwrap.dedent(
        """\
        from deployer import StrategyPackage, hookimpl

        @hookimpl
        def deployer_register_strategy():
            return StrategyPackage(name="plain", package=__name__)

        @hookimpl
        def deployer_smoke_check(workspace):
            if "VERSION" not in (workspace / "app.py").read_text():
                return "app.py must define VERSION"
            return None
        """
    )
    registry = StrategyRegistry([plugins.make("plain", init=init)])
    llm.script(
        write("app.py", APP) + interface(), write("app.py", "VERSION = 1\n" + APP) + interface()
    )
    result = adapt(registry, no_entry, setting, coding_agent="llm-editor")
    assert "plain smoke check passed" in result.validation
    assert "app.py must define VERSION" in llm.requests[1]["messages"][-1]["content"]


def test_secrets_never_reach_agent_prompts_or_logs(llm, registry, setting, make_solution):
    root = make_solution({**NO_ENTRY, "lib/config.py": f"TOKEN = {SECRET!r}\n"})
    llm.script(write("app.py", APP_ALONE) + f"(I saw {SECRET})\n" + interface())
    config = DeployConfig(
        solution=SolutionResult(code_path=root),
        strategy="plain",
        name="secretive",
        env={"TOKEN": SECRET},
        llm_model=MODEL,
        coding_agent="llm-editor",
    )
    with DeploymentFactory(registry).create(config) as software:
        assert software.run({"text": "abc"})["status"] == "success"
        info = software.info
    sent = json.dumps(llm.requests)
    assert SECRET not in sent and "[redacted]" in sent and "TOKEN" in sent  # names only
    log = (home_dir(info) / "adaptation.log").read_text()
    assert SECRET not in log and "[redacted]" in log
    assert SECRET not in info.model_dump_json()


def home_dir(info):
    from deployer.paths import deployment_dir

    return deployment_dir(info.name)


# -- order: templates first --------------------------------------------------------------------


def test_templates_first_when_the_entry_point_is_clear(llm, registry, setting, make_solution):
    root = make_solution()  # main.py:predict
    result = adapt(registry, root, setting, coding_agent="llm-editor")
    assert (result.method, result.agent, result.log_path) == ("templates", None, None)
    assert llm.requests == []


def test_agent_when_the_user_asks_for_it(llm, registry, setting, make_solution):
    root = make_solution()
    llm.script(
        write("app.py", APP.replace("from lib.scoring import score", "score = len")) + interface()
    )
    result = adapt(registry, root, setting, adaptation="agent")  # llm-editor: a model is set
    assert (result.method, result.agent) == ("coding_agent", "llm-editor")
    assert "the user asked for a coding agent" in llm.prompt_text(0)


def test_no_agent_configured_keeps_the_entrypoint_error(registry, setting, no_entry, monkeypatch):
    monkeypatch.delenv("DEPLOYER_CODING_AGENT", raising=False)
    with pytest.raises(EntrypointError, match="no entry point found") as caught:
        adapt(registry, no_entry, setting, llm_model=None)
    assert "--agent NAME" in caught.value.hint
    with pytest.raises(EntrypointError):
        adapt(registry, no_entry, setting, coding_agent="llm-editor", adaptation="templates")
    with pytest.raises(UsageError, match="none is chosen"):
        adapt(registry, no_entry, setting, adaptation="agent", llm_model="")


def test_agent_from_the_environment(llm, registry, setting, no_entry, monkeypatch):
    monkeypatch.setenv("DEPLOYER_CODING_AGENT", "llm-editor")
    llm.script(write("app.py", APP) + interface())
    assert adapt(registry, no_entry, setting).agent == "llm-editor"


# -- external agents ---------------------------------------------------------------------------


@pytest.fixture
def bindir(tmp_path, monkeypatch):
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", f"{path}{os.pathsep}/usr/bin{os.pathsep}/bin")
    return path


def test_external_agent_binary_absent(registry, setting, no_entry, bindir, monkeypatch):
    monkeypatch.delenv("DEPLOYER_LLM_MODEL", raising=False)
    rows = {r.name: r for r in list_agents(registry)}
    assert set(rows) >= {"llm-editor", "claude-code", "aider", "codex"}
    for name, binary in (("claude-code", "claude"), ("aider", "aider"), ("codex", "codex")):
        assert not rows[name].available and rows[name].source == "deployer-core"
        assert rows[name].reason == f"the {binary!r} program is not on PATH"
        assert rows[name].hint
    assert rows["llm-editor"].reason == "no model is configured"
    with pytest.raises(StrategyUnavailableError, match="'claude' program is not on PATH"):
        adapt(registry, no_entry, setting, coding_agent="claude-code")
    with pytest.raises(UsageError, match="unknown coding agent 'nope'"):
        load_agent("nope", registry)


CLAUDE = """\
import os, pathlib, sys
prompt = sys.argv[sys.argv.index("-p") + 1]
assert "--permission-mode" in sys.argv and sys.stdin.read() == ""
pathlib.Path("app.py").write_text(
    "from lib.scoring import score\\n\\n"
    "def predict(inputs: dict):\\n    return score(inputs['text'])\\n"
)
pathlib.Path("cwd.txt").write_text(os.getcwd())
print("Read lib/config.py: TOKEN is", open("lib/config.py").read().split("'")[1])
print("Prompt had", len(prompt), "characters; mentions plain:", "`plain` strategy" in prompt)
print('<run_interface>{"kind": "function", "entrypoint": "app:predict", '
      '"calling_convention": "dict"}</run_interface>')
"""


def test_fake_claude_on_path_edits_files_and_prints_a_run_interface(
    registry, setting, make_solution, bindir
):
    fake_agent(bindir, "claude", CLAUDE)
    root = make_solution({**NO_ENTRY, "lib/config.py": f"TOKEN = {SECRET!r}\n"})
    before = tree_hash(root)
    assert {r.name: r for r in list_agents(registry)}["claude-code"].available
    result = AdapterAgent(registry).adapt(
        SolutionResult(code_path=root),
        setting,
        coding_agent="claude-code",
        env={"TOKEN": SECRET},
        name="clauded",
    )
    assert (result.method, result.agent) == ("coding_agent", "claude-code")
    assert result.run_interface.entrypoint == "app:predict"
    assert result.run_interface.calling_convention == "dict"
    assert {"app.py", "cwd.txt"} <= set(result.files_changed)
    ran_in = (result.adapted_path / "cwd.txt").read_text()
    assert ran_in != str(root) and ".clauded-" in ran_in  # in the staging copy, not the original
    assert tree_hash(root) == before
    log = result.log_path.read_text()
    assert "mentions plain: True" in log and "claude-code output (exit code 0)" in log
    assert SECRET not in log and "TOKEN is [redacted]" in log


def test_external_agent_timeout(registry, setting, no_entry, bindir, monkeypatch):
    monkeypatch.setenv("DEPLOYER_AGENT_TIMEOUT", "1")
    fake_agent(bindir, "codex", "import time\nprint('thinking', flush=True)\ntime.sleep(30)\n")
    with pytest.raises(AdaptationError, match="did not finish within 1s"):
        adapt(registry, no_entry, setting, coding_agent="codex")


def test_external_agent_failure_and_symlink_out(
    registry, setting, no_entry, bindir, tmp_path, monkeypatch
):
    fake_agent(bindir, "aider", "import sys\nprint('no key configured')\nsys.exit(3)\n")
    with pytest.raises(AdaptationError, match="exited with code 3: no key configured"):
        adapt(registry, no_entry, setting, coding_agent="aider")
    secret_dir = tmp_path / "elsewhere"
    secret_dir.mkdir()
    monkeypatch.setenv("TEST_OUTSIDE", str(secret_dir))
    fake_agent(
        bindir,
        "aider",
        f"""\
        import os, pathlib
        os.symlink(os.environ["TEST_OUTSIDE"], "escape")
        pathlib.Path("app.py").write_text({APP!r})
        print('<run_interface>{{"entrypoint": "app:predict"}}</run_interface>')
        """,
    )
    result = adapt(registry, no_entry, setting, coding_agent="aider")
    assert not (result.adapted_path / "escape").exists()
    assert any("escape is a symlink leading out" in note for note in result.validation)


def test_external_agent_writing_into_the_original_is_caught(
    registry, setting, no_entry, bindir, monkeypatch
):
    monkeypatch.setenv("TEST_ORIGINAL", str(no_entry))
    fake_agent(
        bindir,
        "claude",
        """\
        import os, pathlib
        pathlib.Path(os.environ["TEST_ORIGINAL"], "hacked.py").write_text("x = 1\\n")
        print('<run_interface>{"entrypoint": "app:predict"}</run_interface>')
        """,
    )
    with pytest.raises(AdaptationError, match="changed the original solution"):
        adapt(registry, no_entry, setting, coding_agent="claude-code")


# -- listing -----------------------------------------------------------------------------------


def _cli():
    from deployer.cli.main import main

    return main


def test_agents_command_lists_core_and_plugin_agents(plugins, home, bindir, monkeypatch):
    init = textwrap.dedent(
        """\
        from deployer import CodingAgentSpec, StrategyPackage, hookimpl

        @hookimpl
        def deployer_register_strategy():
            return StrategyPackage(name="withagents", package=__name__)

        @hookimpl
        def deployer_register_coding_agents():
            return [
                CodingAgentSpec(name="mine", factory="x.y:Z", description="Mine.",
                                requirements=["env:MINE_KEY"]),
                CodingAgentSpec(name="aider", factory="x.y:Z"),
            ]
        """
    )
    ep = plugins.make("withagents", init=init)
    monkeypatch.setattr("deployer.plugins.registry.default_entry_points", lambda: [ep])
    monkeypatch.setenv("MINE_KEY", "1")
    fake_agent(bindir, "codex", "print('hi')\n")
    result = CliRunner().invoke(_cli(), ["agents", "--json", "--model", MODEL])
    assert result.exit_code == 0, result.output
    rows = {(r["name"], r["source"]): r for r in json.loads(result.output)}
    assert rows[("llm-editor", "deployer-core")]["available"]
    assert rows[("codex", "deployer-core")]["available"]
    assert not rows[("claude-code", "deployer-core")]["available"]
    mine = next(r for (name, _), r in rows.items() if name == "mine")
    assert mine["available"] and mine["description"] == "Mine." and mine["status"] == "ok"
    clash = next(r for (name, src), r in rows.items() if name == "aider" and src != "deployer-core")
    assert clash["status"] == "conflict" and not clash["available"]
    table = CliRunner().invoke(_cli(), ["agents"])
    assert table.exit_code == 0 and "claude-code" in table.output and "mine" in table.output


def test_edit_format_is_strict():
    from deployer.adapter.agents.edits import EditFormatError, parse_edits

    edits = parse_edits(
        "prose\n<<<<<<< WRITE a.py\nx = 1\n>>>>>>> END\n"
        "<<<<<<< SEARCH a.py\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\nmore prose\n"
    )
    assert [(e.kind, e.path) for e in edits] == [("write", "a.py"), ("replace", "a.py")]
    assert edits[0].content == "x = 1\n" and (edits[1].search, edits[1].content) == (
        "x = 1",
        "x = 2",
    )
    for bad, message in (
        ("<<<<<<< WRITE a.py\nx\n", "not closed"),
        ("<<<<<<< SEARCH a.py\nx\n>>>>>>> REPLACE\n", "unexpected"),
        (">>>>>>> END\n", "outside a WRITE or SEARCH block"),
    ):
        with pytest.raises(EditFormatError, match=message):
            parse_edits(bad)


def test_search_replace_application(tmp_path):
    from deployer.adapter.agents.edits import apply_edits, parse_edits

    (tmp_path / "a.py").write_text("x = 1\ny = 1\ny = 1\n")
    report = apply_edits(
        tmp_path,
        parse_edits(
            "<<<<<<< SEARCH a.py\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n"
            "<<<<<<< SEARCH a.py\ny = 1\n=======\ny = 2\n>>>>>>> REPLACE\n"
            "<<<<<<< SEARCH a.py\nz = 1\n=======\nz = 2\n>>>>>>> REPLACE\n"
            "<<<<<<< SEARCH b.py\nz = 1\n=======\nz = 2\n>>>>>>> REPLACE\n"
            "<<<<<<< WRITE ~/.bashrc\nrm -rf\n>>>>>>> END\n"
            "<<<<<<< WRITE C:\\evil.py\nx\n>>>>>>> END\n"
        ),
    )
    assert report.changed == ["a.py"]
    assert (tmp_path / "a.py").read_text() == "x = 2\ny = 1\ny = 1\n"
    assert any("occurs 2 times" in f for f in report.failed)
    assert any("does not occur" in f for f in report.failed)
    assert any("b.py does not exist" in f for f in report.failed)
    assert len(report.refused) == 2


def test_run_interface_parsing():
    from deployer.adapter.agents.run_interface import RunInterfaceError, parse_run_interface

    ok = parse_run_interface(
        'text <run_interface>{"entrypoint": "a:b"}</run_interface> then '
        '<run_interface>```json\n{"entrypoint": "pkg.mod:run", "calling_convention": "dict",'
        ' "endpoint": "http://127.0.0.1:9000"}\n```</run_interface>'
    )
    assert (ok.entrypoint, ok.calling_convention, ok.endpoint) == (
        "pkg.mod:run",
        "dict",
        "http://127.0.0.1:9000",
    )
    for bad, message in (
        ("nothing here", "does not end with"),
        ("<run_interface>[1]</run_interface>", "JSON object"),
        ("<run_interface>{'a': 1}</run_interface>", "not valid JSON"),
        ('<run_interface>{"entrypoint": "a:b", "extra": 1}</run_interface>', "extra"),
        ('<run_interface>{"entrypoint": "a:b", "kind": "grpc"}</run_interface>', "kind"),
    ):
        with pytest.raises(RunInterfaceError, match=message):
            parse_run_interface(bad)


def test_cli_deploy_with_agent_and_model(llm, plugins, home, no_entry, monkeypatch):
    ep = plugins.make("plain")
    monkeypatch.setattr("deployer.plugins.registry.default_entry_points", lambda: [ep])
    llm.script(json.dumps({"strategy": "plain", "reasoning": "only one"}))
    llm.script(write("app.py", APP_ALONE) + interface())
    runner = CliRunner()
    args = ["deploy", str(no_entry), "--name", "viacli", "--agent", "llm-editor"]
    result = runner.invoke(_cli(), [*args, "--model", MODEL, "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["run_interface"]["entrypoint"] == "app:predict"
    assert info["reasoning"] == "only one"
    assert len(llm.requests) == 2  # one selection, one editing round
    log = runner.invoke(_cli(), ["logs", "viacli", "--adaptation", "--tail", "4"])
    assert log.exit_code == 0
    assert log.stdout.splitlines()[0] == "===== validated after 1 round(s) ====="
    ran = runner.invoke(_cli(), ["run", "viacli", '{"text": "four"}'])
    assert json.loads(ran.stdout) == {"status": "success", "output": {"length": 4}}
    assert runner.invoke(_cli(), ["rm", "viacli"]).exit_code == 0
    missing = runner.invoke(_cli(), ["logs", "viacli", "--adaptation"])
    assert missing.exit_code == 4
    templated = runner.invoke(_cli(), ["deploy", str(no_entry), "--adapt", "templates"])
    assert templated.exit_code == 2 and "no entry point found" in templated.output
