"""LLM strategy selection: prompt size, and latency with and without the answer cache.

No model provider is needed: litellm runs for real against deployer's scripted
OpenAI-compatible server on 127.0.0.1 (`deployer.llm.testing.ScriptedLLMServer`), which answers
at once (or after `--model-delay` seconds, to imitate a real model), so the figures are
deployer's and litellm's own cost, not a model's.

Measures, with DEPLOYER_HOME pointing at a temporary directory and every installed strategy:
- prompt size for a generated 10-file and a 5,000-file repository: characters (the whole
  prompt and the repository digest alone) and tokens as litellm counts them
  (`litellm.token_counter`) for the model string used, plus the time to build the prompt;
- selection latency (median, p95 over `--runs` runs, each a full `SelectorAgent.select`):
  offline only (no model), LLM without the cache (`use_cache=False`, what `--no-cache` does),
  and LLM answered from the cache;
- the one-off cost of importing litellm in a fresh process (paid by the first LLM call).

Run: `python benchmarks/bench_llm.py [--json] [--runs 20] [--model-delay 0]` from the root.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    Stats,
    emit_json,
    format_table,
    isolated_home,
    parse_args,
    print_header,
    progress,
)

MODEL = "openai/test-model"
SIZES = (10, 5_000)


def make_repository(root: Path, count: int) -> Path:
    """A Python project of exactly `count` files: an entry point, a README, requirements, and
    a package tree of modules (with a few data files) to make up the number."""
    root.mkdir(parents=True)
    fixed = {
        "README.md": "# Text scorer\n\nScores short texts for sentiment, served as a function.\n",
        "requirements.txt": "numpy>=1.26\nscikit-learn>=1.4\n",
        "main.py": "from scorer.model import load\n\nMODEL = load()\n\n\n"
        "def predict(text: str) -> dict:\n    return {'score': MODEL.score(text)}\n",
        "scorer/model.py": "class Model:\n    def score(self, text):\n        return len(text) % 5"
        "\n\n\ndef load():\n    return Model()\n",
    }
    for name, text in fixed.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    for i in range(count - len(fixed)):
        group, sub = divmod(i, 50)
        folder = root / "scorer" / f"part{group:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        if sub == 49:
            (folder / f"table{sub}.csv").write_text("a,b\n1,2\n" * 20, encoding="utf-8")
            continue
        (folder / f"module{sub:02d}.py").write_text(
            f'"""Generated module {group}.{sub}."""\n\nimport math\nimport numpy as np\n\n\n'
            f"def feature_{sub}(values):\n    return np.asarray(values).sum() * math.pi\n",
            encoding="utf-8",
        )
    found = sum(1 for p in root.rglob("*") if p.is_file())
    if found != count:
        raise SystemExit(f"generated {found} files instead of {count}")
    return root


def litellm_import_seconds(runs: int = 3) -> float:
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True")
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import litellm"], env=env, check=True)
        samples.append(time.perf_counter() - start)
    base = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        base.append(time.perf_counter() - start)
    return Stats.of(samples).median - Stats.of(base).median


def main() -> int:
    args = parse_args(
        "LLM selection: prompt size and latency with and without the cache.",
        {
            "runs": (int, 20, "timed selections per measurement (default 20)"),
            "model-delay": (float, 0.0, "seconds the scripted model waits before answering"),
        },
    )
    delay = args.model_delay
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ["OPENAI_API_KEY"] = "sk-bench-dummy"
    for name in ("DEPLOYER_LLM_MODEL", "DEPLOYER_LLM_PROMPT_BUDGET", "OPENAI_API_BASE"):
        os.environ.pop(name, None)

    from deployer.llm.client import count_tokens, import_litellm
    from deployer.llm.testing import Reply, ScriptedLLMServer
    from deployer.models import SolutionResult
    from deployer.plugins.registry import StrategyRegistry
    from deployer.repo.describe import describe_repository, prompt_budget
    from deployer.repo.digest import scan_repository
    from deployer.selector.agent import SelectorAgent, effective_goal
    from deployer.selector.llm import LLMSelection

    progress("importing litellm in fresh processes")
    import_cost = litellm_import_seconds()
    start = time.perf_counter()
    import_litellm()
    in_process_import = time.perf_counter() - start

    sizes: list[dict[str, Any]] = []
    latency: list[dict[str, Any]] = []
    problems: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="deployer-bench-llm-"))
    try:
        with isolated_home(), ScriptedLLMServer() as server:
            registry = StrategyRegistry()
            strategies = registry.list_strategies()
            if not strategies:
                raise SystemExit("no strategy is installed: pip install -e packages/deployer-local")
            names = [s.name for s in strategies]
            for count in SIZES:
                progress(f"generating a {count}-file repository")
                root = make_repository(workdir / f"repo{count}", count)
                solution = SolutionResult(code_path=root)
                offline = SelectorAgent(registry, model="")
                ranking = offline.rank(solution)
                answer = next(s.strategy for s in ranking if s.available)
                server.default = Reply(
                    content=json.dumps({"strategy": answer, "reasoning": "benchmark"}),
                    delay=delay,
                )
                selection = LLMSelection(registry=registry, model=MODEL)
                build = []
                for _ in range(5):
                    t0 = time.perf_counter()
                    digest = scan_repository(root)
                    messages = selection.messages(
                        root, effective_goal(solution), strategies, ranking, digest
                    )
                    build.append(time.perf_counter() - t0)
                repo_text = describe_repository(root, digest=digest)
                prompt_chars = sum(len(m["content"]) for m in messages)
                tokens = count_tokens(MODEL, messages)
                sizes.append(
                    {
                        "files": count,
                        "files_listed": repo_text.files_listed,
                        "excerpts": len(repo_text.excerpts),
                        "digest_chars": len(repo_text.text),
                        "prompt_chars": prompt_chars,
                        "prompt_tokens": tokens,
                        "build_ms": Stats.of(build).median * 1000,
                    }
                )

                def timed(
                    agent: SelectorAgent, runs: int, solution: SolutionResult = solution
                ) -> tuple[Stats, str]:
                    samples = []
                    setting = None
                    for _ in range(runs):
                        t0 = time.perf_counter()
                        setting = agent.select(solution)
                        samples.append(time.perf_counter() - t0)
                    assert setting is not None
                    return Stats.of(samples).scaled(1000), setting.source

                progress(f"{count} files: offline selection")
                offline_stats, source = timed(offline, args.runs)
                progress(f"{count} files: LLM selection without the cache")
                requests_before = len(server.requests)
                no_cache = SelectorAgent(registry, model=MODEL, use_cache=False)
                no_cache.api_base = server.base_url
                uncached_stats, uncached_source = timed(no_cache, args.runs)
                uncached_calls = len(server.requests) - requests_before
                progress(f"{count} files: LLM selection from the cache")
                cached = SelectorAgent(registry, model=MODEL, api_base=server.base_url)
                cached.select(solution)  # fills the cache
                requests_before = len(server.requests)
                cached_stats, cached_source = timed(cached, args.runs)
                cached_calls = len(server.requests) - requests_before
                if (source, uncached_source, cached_source) != ("heuristics", "llm", "llm"):
                    problems.append(
                        f"{count} files: sources {source}/{uncached_source}/{cached_source}"
                    )
                if uncached_calls != args.runs or cached_calls != 0:
                    problems.append(
                        f"{count} files: {uncached_calls} calls without cache, "
                        f"{cached_calls} with it (expected {args.runs} and 0)"
                    )
                for label, stats in (
                    ("offline (no model)", offline_stats),
                    ("LLM, --no-cache", uncached_stats),
                    ("LLM, cached answer", cached_stats),
                ):
                    latency.append({"files": count, "mode": label, **stats.as_dict()})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    settings = {
        "runs": args.runs,
        "model_delay_s": delay,
        "model": MODEL,
        "strategies": names,
        "prompt_budget_chars": prompt_budget(),
    }
    if args.json:
        emit_json(
            {
                "settings": settings,
                "litellm_import_s": import_cost,
                "litellm_import_in_process_s": in_process_import,
                "prompt_size": sizes,
                "latency_ms": latency,
                "problems": problems,
            }
        )
    else:
        print_header("deployer LLM selection benchmark")
        print(
            f"model {MODEL} on the scripted server (answer delay {delay:g}s); strategies: "
            f"{', '.join(names)}; repository budget {prompt_budget()} chars; {args.runs} runs"
        )
        print(
            f"importing litellm: {import_cost:.2f}s in a fresh process "
            f"(paid once, by the first LLM call; never by offline commands)\n"
        )
        print("Prompt size")
        print(
            format_table(
                [
                    "repository",
                    "listed",
                    "excerpts",
                    "digest chars",
                    "prompt chars",
                    "tokens",
                    "build ms",
                ],
                [
                    [
                        f"{s['files']} files",
                        s["files_listed"],
                        s["excerpts"],
                        s["digest_chars"],
                        s["prompt_chars"],
                        s["prompt_tokens"],
                        s["build_ms"],
                    ]
                    for s in sizes
                ],
            )
        )
        print("\nSelection latency (ms, full SelectorAgent.select)")
        print(
            format_table(
                ["repository / mode", "median", "p95", "min", "max"],
                [
                    [
                        f"{row['files']} files, {row['mode']}",
                        row["median"],
                        row["p95"],
                        row["min"],
                        row["max"],
                    ]
                    for row in latency
                ],
            )
        )
    if problems:
        print("\nPROBLEMS (figures not meaningful):\n- " + "\n- ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
