"""Fixtures for the LLM tests: litellm for real, against a scripted server on 127.0.0.1.

Each test module defines its `llm` fixture as `yield from scripted_llm(...)`. The server is
`deployer.llm.testing.ScriptedLLMServer`; litellm reaches it through its usual settings
(OPENAI_API_BASE, OPENAI_API_KEY) with the model "openai/test-model", so request building,
response parsing, errors and retries all go through litellm's own code.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer.llm.client import litellm_installed
from deployer.llm.testing import Reply, ScriptedLLMServer

MODEL = "openai/test-model"
SECRET = "sk-live-SUPERSECRET-4242"

__all__ = [
    "MODEL", "SECRET", "Reply", "ScriptedLLMServer", "fake_agent", "scripted_llm", "selection",
]  # fmt: skip


def scripted_llm(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[ScriptedLLMServer]:
    """A started server with litellm pointed at it (skips, as `real`, without litellm)."""
    if not litellm_installed():
        request.applymarker(pytest.mark.real)
        pytest.skip("litellm is not installed (pip install litellm)")
    with ScriptedLLMServer() as server:
        monkeypatch.setenv("OPENAI_API_BASE", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-dummy")
        monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        monkeypatch.setenv("DEPLOYER_LLM_TIMEOUT", "5")
        monkeypatch.setenv("DEPLOYER_LLM_RETRIES", "1")
        for name in (
            "DEPLOYER_LLM_MODEL",
            "DEPLOYER_LLM_API_BASE",
            "DEPLOYER_LLM_API_KEY",
            "DEPLOYER_LLM_JSON_MODE",
            "DEPLOYER_CODING_AGENT",
            "DEPLOYER_LLM_PROMPT_BUDGET",
            "OPENAI_BASE_URL",
        ):
            monkeypatch.delenv(name, raising=False)
        yield server


def selection(strategy: str, reasoning: str = "it fits", **extra: object) -> str:
    """A well-formed selection answer."""
    return json.dumps({"strategy": strategy, "reasoning": reasoning, **extra})


def fake_agent(bindir: Path, name: str, body: str) -> Path:
    """Write an executable Python script called `name` into bindir (put bindir on PATH)."""
    bindir.mkdir(parents=True, exist_ok=True)
    script = bindir / name
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body), encoding="utf-8")
    script.chmod(0o755)
    return script
