"""LLM strategy selection through litellm, for real, against a scripted server on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from llm_support import MODEL, SECRET, Reply, scripted_llm, selection

from deployer.llm.client import LLMClient, LLMError
from deployer.models import SolutionResult
from deployer.paths import cache_dir
from deployer.plugins.registry import StrategyRegistry
from deployer.repo.describe import describe_repository
from deployer.selector.agent import SelectorAgent


@pytest.fixture
def llm(home, monkeypatch, request):
    yield from scripted_llm(monkeypatch, request)


@pytest.fixture
def two(plugins, home):
    """numeric (offline score 0.5) and plain (offline score 1.0): offline picks plain."""
    return StrategyRegistry([plugins.make("numeric", baseline=0.5), plugins.make("plain")])


@pytest.fixture
def repo(make_solution):
    return make_solution(
        {
            "main.py": "import numpy\n\ndef predict(x):\n    return x\n",
            "README.md": "# Cruncher\n\nCrunches numbers.\n",
            "requirements.txt": "numpy\n",
        }
    )


def choose(registry, root, allowed=None, **kwargs):
    selector = SelectorAgent(registry, model=kwargs.pop("model", MODEL), **kwargs)
    return selector.select(SolutionResult(code_path=root), allowed)


def test_good_answer_is_used_with_the_offline_ranking_beside_it(llm, two, repo):
    llm.script(
        selection(
            "numeric",
            "numpy arrays everywhere",
            resources={"cpu": 2, "memory": "1Gi"},
            confidence=0.8,
        )
    )
    setting = choose(two, repo)
    assert (setting.strategy, setting.source, setting.model) == ("numeric", "llm", MODEL)
    assert setting.reasoning == "numpy arrays everywhere" and setting.confidence == 0.8
    assert setting.resources.cpu == 2 and setting.resources.memory == "1Gi"
    assert [s.strategy for s in setting.ranking] == ["plain", "numeric"]  # offline, as evidence
    assert "the offline ranking would choose plain" in setting.notes
    # one request, built by litellm, to the OpenAI-compatible path
    assert len(llm.requests) == 1 and llm.paths == ["/v1/chat/completions"]
    request = llm.requests[0]
    assert request["model"] == "test-model" and "response_format" not in request
    prompt = llm.prompt_text()
    for expected in (
        "Choose numeric for tests.",  # every installed strategy's selector_instruction.md
        "Choose plain for tests.",
        "Cruncher Crunches numbers.",  # the goal, from the README
        "- main.py",  # the repository digest
        "Declared dependencies: numpy",
        "1. plain: score 1",  # the offline ranking as evidence
    ):
        assert expected in prompt, expected


def test_explain_shows_the_models_reasoning_beside_the_offline_ranking(llm, two, repo):
    llm.script(selection("numeric", "numpy arrays everywhere", confidence=0.5))
    text = SelectorAgent(two, model=MODEL).explain(SolutionResult(code_path=repo))
    assert text.startswith(f"Chosen strategy: numeric (chosen by {MODEL}, confidence 0.5)")
    assert "Why (the model's reasoning): numpy arrays everywhere" in text
    assert "Offline ranking (heuristics):" in text and "1. plain" in text and "2. numeric" in text


def test_fenced_json_with_prose_around_it(llm, two, repo):
    llm.script("Here is my choice:\n```json\n" + selection("numeric") + "\n```\nThanks.")
    assert choose(two, repo).strategy == "numeric"


def test_invalid_json_then_corrected(llm, two, repo):
    llm.script("I would pick numeric, it is great", selection("numeric", "fixed"))
    setting = choose(two, repo)
    assert (setting.strategy, setting.source, setting.reasoning) == ("numeric", "llm", "fixed")
    assert len(llm.requests) == 2
    second = llm.requests[1]["messages"]
    assert second[-2] == {"role": "assistant", "content": "I would pick numeric, it is great"}
    assert "not valid JSON" in second[-1]["content"] and second[-1]["role"] == "user"


def test_strategy_not_installed_twice_falls_back_to_offline(llm, two, repo):
    llm.script(selection("docker"), selection("kubernetes"))
    setting = choose(two, repo)
    assert (setting.strategy, setting.source) == ("plain", "heuristics")
    assert "'docker' is not installed" in setting.llm_error
    assert "'kubernetes' is not installed" in setting.llm_error
    assert any("used the offline ranking" in note for note in setting.notes)
    assert "offline fallback" in setting.reasoning
    assert "choose one of: numeric, plain" in llm.requests[1]["messages"][-1]["content"]


def test_not_allowed_and_unavailable_answers_are_corrected(llm, plugins, home, repo):
    blocked = plugins.make(
        "gpu", extra_config="requirements:\n  binaries: [no-such-binary-xyz]\n", baseline=9
    )
    registry = StrategyRegistry([blocked, plugins.make("numeric"), plugins.make("plain")])
    llm.script(selection("numeric"), selection("plain"))
    assert choose(registry, repo, ["plain", "gpu"]).strategy == "plain"
    assert "'numeric' is not allowed here" in llm.requests[1]["messages"][-1]["content"]
    # only the allowed strategies' instructions are in the prompt, availability marked
    prompt = llm.prompt_text(0)
    assert "Choose numeric" not in prompt and "UNAVAILABLE here" in prompt
    llm.script(selection("gpu"), selection("plain", "fine"))
    setting = choose(registry, repo, use_cache=False)
    assert setting.strategy == "plain" and setting.source == "llm"
    assert "unavailable on this machine" in llm.requests[-1]["messages"][-1]["content"]


def test_answer_failing_validation_gets_one_correction(llm, two, repo):
    llm.script(
        json.dumps({"strategy": "numeric"}),  # reasoning missing
        selection("numeric", resources={"cpu": -1}),  # cpu must be > 0
    )
    setting = choose(two, repo)
    assert setting.source == "heuristics" and "reasoning" in setting.llm_error
    assert "resources.cpu" in setting.llm_error


def test_timeout_falls_back_with_the_reason(llm, two, repo, monkeypatch):
    monkeypatch.setenv("DEPLOYER_LLM_TIMEOUT", "0.5")
    llm.script(Reply(content=selection("numeric"), delay=2), Reply(delay=2))
    setting = choose(two, repo)  # the error text below proves each wait ended at 0.5 s
    assert (setting.strategy, setting.source) == ("plain", "heuristics")
    assert "did not answer within 0.5s" in setting.llm_error and "2 attempts" in setting.llm_error
    assert len(llm.requests) == 2  # one retry (DEPLOYER_LLM_RETRIES=1)


def test_http_500_is_retried_then_answered(llm, two, repo):
    llm.script(Reply(status=500, error="overloaded"), selection("numeric"))
    setting = choose(two, repo)
    assert (setting.strategy, setting.source) == ("numeric", "llm")
    assert len(llm.requests) == 2


def test_http_500_every_time_falls_back(llm, two, repo):
    llm.script(Reply(status=500, error="overloaded"), Reply(status=500, error="overloaded"))
    setting = choose(two, repo)
    assert setting.source == "heuristics" and "provider error" in setting.llm_error
    assert "overloaded" in setting.llm_error


def test_401_falls_back_at_once(llm, two, repo):
    llm.script(Reply(status=401, error="invalid api key"))
    setting = choose(two, repo)
    assert (setting.strategy, setting.source) == ("plain", "heuristics")
    assert "authentication failed" in setting.llm_error
    assert len(llm.requests) == 1  # an auth error is not retried


def test_malformed_http_body_falls_back(llm, two, repo):
    llm.script(Reply(body="<html>gateway</html>"), Reply(body='{"choices": "nope"}'))
    setting = choose(two, repo)
    assert setting.source == "heuristics" and setting.llm_error


def test_cache_same_content_same_strategies_same_model(llm, two, repo):
    llm.script(selection("numeric", "first"))
    first = choose(two, repo)
    again = choose(two, repo)
    assert len(llm.requests) == 1
    assert (again.strategy, again.reasoning, again.cached, first.cached) == (
        "numeric",
        "first",
        True,
        False,
    )
    assert any("cached" in note for note in again.notes)
    assert len(list(cache_dir("selection").glob("*.json"))) == 1
    # --no-cache asks again
    llm.script(selection("numeric", "second"))
    assert choose(two, repo, use_cache=False).reasoning == "second"
    assert len(llm.requests) == 2
    # changed repository content: a new key
    (repo / "extra.py").write_text("import torch\n")
    llm.script(selection("plain", "third"))
    assert choose(two, repo).reasoning == "third"
    # another model: a new key
    llm.script(selection("plain", "fourth"))
    assert choose(two, repo, model="openai/other-model").reasoning == "fourth"
    assert len(llm.requests) == 4
    # failures are not cached
    llm.script(Reply(status=401))
    assert choose(two, repo, model="openai/third-model").source == "heuristics"
    llm.script(selection("plain", "fifth"))
    assert choose(two, repo, model="openai/third-model").reasoning == "fifth"


def test_secrets_never_reach_the_prompt_or_the_cache(llm, two, make_solution):
    root = make_solution(
        {
            "main.py": f"API_KEY = {SECRET!r}\n\ndef predict(x):\n    return x\n",
            ".env": "OTHER=never-excerpted-value\n",
        }
    )
    llm.script(selection("numeric", f"it uses {SECRET}"))
    setting = SelectorAgent(two, model=MODEL, secrets={"API_KEY": SECRET}).select(
        SolutionResult(code_path=root, goal=f"serve with key {SECRET}")
    )
    sent = json.dumps(llm.requests)
    assert SECRET not in sent and "[redacted]" in sent
    assert "never-excerpted-value" not in sent  # .env files are never quoted
    assert setting.strategy == "numeric"
    for path in cache_dir("selection").glob("*.json"):
        assert SECRET not in path.read_text()


def test_no_model_means_offline_exactly_as_before(llm, two, repo):
    offline = SelectorAgent(two).select(SolutionResult(code_path=repo))
    assert offline.source == "heuristics" and offline.model is None and not offline.llm_error
    assert SelectorAgent(two, model="").select(SolutionResult(code_path=repo)) == offline
    assert llm.requests == []


def test_model_from_the_environment(llm, two, repo, monkeypatch):
    monkeypatch.setenv("DEPLOYER_LLM_MODEL", MODEL)
    llm.script(selection("numeric"))
    assert SelectorAgent(two).select(SolutionResult(code_path=repo)).source == "llm"


def test_json_mode_on_request_and_explicit_api_base(llm, two, repo, monkeypatch):
    monkeypatch.delenv("OPENAI_API_BASE")
    monkeypatch.setenv("DEPLOYER_LLM_JSON_MODE", "1")
    llm.script(selection("numeric"))
    setting = SelectorAgent(two, model=MODEL, api_base=llm.url).select(
        SolutionResult(code_path=repo)
    )
    assert setting.source == "llm"
    assert llm.paths == ["/chat/completions"]  # api_base without /v1
    assert llm.requests[0]["response_format"] == {"type": "json_object"}


def test_client_maps_errors_to_kinds(llm):
    client = LLMClient(MODEL, retries=0)
    llm.script(Reply(status=401), Reply(status=500), Reply(status=429), Reply(status=404))
    kinds = []
    for _ in range(4):
        with pytest.raises(LLMError) as caught:
            client.complete([{"role": "user", "content": "hi"}])
        kinds.append(caught.value.kind)
    assert kinds == ["auth", "server", "rate_limit", "bad_request"]
    llm.script("hello")
    reply = client.complete([{"role": "user", "content": "hi"}])
    assert reply.content == "hello" and reply.attempts == 1 and reply.prompt_tokens


def test_prompt_budget_bounds_the_repository_text(make_solution):
    files = {f"pkg/sub{i % 7}/module_{i}.py": f"import os\nVALUE = {i}\n" * 40 for i in range(400)}
    files["main.py"] = "def predict(x):\n    return x\n"
    root = make_solution(files)
    small = describe_repository(root, budget=2_000)
    large = describe_repository(root, budget=40_000)
    assert len(small.text) <= 2_100 and small.truncated
    assert len(large.text) <= 40_100 and len(large.text) > len(small.text)
    assert "- main.py" in small.text.splitlines()[1]  # top-level files listed first
    assert "and " in small.text and "more" in small.text


def test_select_without_a_model_does_not_import_litellm(repo, tmp_path):
    pytest.importorskip("deployer_local", reason="the probe selects among installed strategies")
    probe = textwrap.dedent(
        f"""
        import sys
        sys.argv = ["deployer", "select", {str(repo)!r}, "--json"]
        from deployer.cli.main import main
        try:
            main()
        except SystemExit:
            pass
        heavy = {{"litellm", "openai", "tiktoken", "deployer.selector.llm",
                  "deployer.adapter.agents"}}
        print(sorted(heavy & set(sys.modules)))
        """
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DEPLOYER_HOME": str(tmp_path / "probe-home"),
        "PYTHONPATH": ":".join(p for p in sys.path if p),
    }
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr
    assert '"source": "heuristics"' in out.stdout  # it did select (with the installed strategies)


def test_cli_select_with_model_cache_and_no_cache(llm, plugins, home, repo, monkeypatch):
    from click.testing import CliRunner

    from deployer.cli.main import main

    eps = [plugins.make("numeric", baseline=0.5), plugins.make("plain")]
    monkeypatch.setattr("deployer.plugins.registry.default_entry_points", lambda: eps)
    llm.script(selection("numeric", "from the cli", confidence=0.9))
    runner = CliRunner()
    first = runner.invoke(main, ["select", str(repo), "--model", MODEL, "--json"])
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert (data["strategy"], data["source"], data["model"], data["cached"]) == (
        "numeric",
        "llm",
        MODEL,
        False,
    )
    assert data["confidence"] == 0.9 and data["ranking"][0]["strategy"] == "plain"
    text = runner.invoke(main, ["select", str(repo), "--model", MODEL])
    assert "Why (the model's reasoning): from the cli" in text.stdout and "cached" in text.stdout
    assert len(llm.requests) == 1
    llm.script(Reply(status=401))
    again = runner.invoke(main, ["select", str(repo), "--model", MODEL, "--no-cache", "--json"])
    data = json.loads(again.stdout)
    assert (data["strategy"], data["source"]) == ("plain", "heuristics")
    assert "authentication failed" in data["llm_error"] and len(llm.requests) == 2
    llm.script(Reply(status=401))
    shown = runner.invoke(main, ["select", str(repo), "--model", MODEL, "--no-cache"])
    assert shown.stdout.startswith(
        f"Chosen strategy: plain (offline ranking: the answer of {MODEL} could not be used)"
    )
