"""SelectorAgent's offline layer: signals scored against a bounded repository scan."""

from __future__ import annotations

import pytest

from deployer.errors import SolutionError, StrategyNotFoundError
from deployer.models import SolutionResult
from deployer.plugins.registry import StrategyRegistry
from deployer.repo.digest import goal_from_readme, read_requirements, scan_repository
from deployer.selector.agent import SelectorAgent


@pytest.fixture
def two(plugins, home):
    numeric = plugins.make("numeric", baseline=0.5)
    plain = plugins.make("plain", baseline=1.0)
    return StrategyRegistry([numeric, plain])


def test_signals_pick_the_best_fit(two, make_solution):
    root = make_solution({"main.py": "import numpy\ndef predict(x): ...\n",
                          "requirements.txt": "Numeric_Lib>=1.0  # arrays\n-e .\n"})  # fmt: skip
    setting = SelectorAgent(two).select(SolutionResult(code_path=root))
    assert setting.strategy == "numeric"
    best = setting.ranking[0]
    assert best.score == 2.5 and "depends on numeric-lib (+2)" in best.reasons
    assert [s.strategy for s in setting.ranking] == ["numeric", "plain"]
    assert "numeric scored 2.5" in setting.reasoning


def test_goal_words_and_readme_goal(two, make_solution):
    root = make_solution(
        {"main.py": "def predict(x): ...\n", "README.md": "# Tool\n\nA plain helper.\n\nMore."}
    )
    assert goal_from_readme(root) == "Tool A plain helper."
    setting = SelectorAgent(two).select(SolutionResult(code_path=root))
    assert setting.strategy == "plain"
    assert "goal says 'plain' (+3)" in setting.ranking[0].reasons
    explicit = SolutionResult(code_path=root, goal="numeric work")
    assert SelectorAgent(two).select(explicit).strategy == "numeric"


def test_unavailable_better_fit_is_named(plugins, home, make_solution):
    blocked = plugins.make(
        "gpu", baseline=5.0, extra_config="requirements:\n  binaries: [no-such-binary-xyz]\n"
    )
    registry = StrategyRegistry([blocked, plugins.make("plain")])
    setting = SelectorAgent(registry).select(SolutionResult(code_path=make_solution()))
    assert setting.strategy == "plain"
    assert "gpu fits better" in setting.reasoning and "no-such-binary-xyz" in setting.reasoning
    assert setting.ranking[0].strategy == "gpu" and not setting.ranking[0].available


def test_allowed_filter_and_errors(two, make_solution):
    root = make_solution({"requirements.txt": "numeric-lib\n"})
    solution = SolutionResult(code_path=root)
    assert SelectorAgent(two).select(solution, ["plain"]).strategy == "plain"
    with pytest.raises(StrategyNotFoundError, match="'missing'"):
        SelectorAgent(two).select(solution, ["missing"])
    with pytest.raises(SolutionError):
        SelectorAgent(two).select(SolutionResult(code_path=root / "nope"))


def test_no_strategy_available(plugins, home, make_solution):
    only = plugins.make("only", extra_config="requirements:\n  env_all: [DEPLOYER_NOT_SET_XYZ]\n")
    with pytest.raises(StrategyNotFoundError, match="no allowed strategy is available"):
        SelectorAgent(StrategyRegistry([only])).select(SolutionResult(code_path=make_solution()))


def test_explain_is_readable(two, make_solution):
    text = SelectorAgent(two).explain(SolutionResult(code_path=make_solution(), goal="numeric"))
    assert text.startswith("Chosen strategy: numeric")
    assert "Ranking:" in text and "1. numeric" in text and "2. plain" in text


def test_requirements_from_pyproject(make_solution):
    root = make_solution(
        {
            "pyproject.toml": '[project]\ndependencies = ["Scikit_Learn>=1", "torch"]\n'
            '[tool.poetry.dependencies]\npython = "^3.11"\nfastapi = "*"\n'
        }
    )
    assert read_requirements(root) == {"scikit-learn", "torch", "fastapi"}


def test_large_repository_is_sampled(make_solution):
    files = {f"pkg/m{i}.py": f"import mod{i}\n" for i in range(30)}
    root = make_solution(files)
    digest = scan_repository(root, max_files=1000, max_python_files=10)
    assert digest.truncated and len(digest.imports) == 10
    digest = scan_repository(root, max_files=5)
    assert digest.truncated and len(digest.files) == 5
