"""Entry point resolution (explicit, pyproject, conventions) and calling conventions."""

from __future__ import annotations

import pytest

from deployer.errors import EntrypointError
from deployer.repo.entrypoints import describe_entrypoint, resolve_entrypoint


def test_explicit_wins(make_solution):
    root = make_solution({"main.py": "def predict(x): ...\n", "tool.py": "def go(x): ...\n"})
    assert resolve_entrypoint(root, "tool:go") == "tool:go"


def test_pyproject_declaration_beats_conventions(make_solution):
    root = make_solution(
        {
            "main.py": "def predict(x): ...\n",
            "pkg/serve.py": "def answer(x): ...\n",
            "pyproject.toml": '[tool.deployer]\nentrypoint = "pkg.serve:answer"\n',
        }
    )
    assert resolve_entrypoint(root) == "pkg.serve:answer"
    assert describe_entrypoint(root, "pkg.serve:answer").parameters == ["x"]


@pytest.mark.parametrize(
    ("filename", "function"),
    [("main.py", "predict"), ("predict.py", "run"), ("app.py", "handler"), ("handler.py", "infer")],
)
def test_conventional_names(make_solution, filename, function):
    root = make_solution({filename: f"def {function}(inputs):\n    return inputs\n"})
    assert resolve_entrypoint(root) == f"{filename[:-3]}:{function}"


def test_no_entry_point_lists_what_was_looked_for(make_solution):
    root = make_solution({"lib.py": "def helper(): ...\n", "main.py": "x = 1\n"})
    with pytest.raises(EntrypointError) as info:
        resolve_entrypoint(root)
    assert "predict" in info.value.message and "main.py" in info.value.message
    assert "--entrypoint" in info.value.hint


def test_ambiguous_entry_point_lists_candidates(make_solution):
    root = make_solution({"main.py": "def predict(x): ...\n", "app.py": "def run(x): ...\n"})
    with pytest.raises(EntrypointError) as info:
        resolve_entrypoint(root)
    assert "main:predict" in info.value.message and "app:run" in info.value.message


def test_missing_module_or_function(make_solution):
    root = make_solution({"main.py": "def predict(x): ...\n"})
    with pytest.raises(EntrypointError, match="module 'nope' not found"):
        describe_entrypoint(root, "nope:f")
    with pytest.raises(EntrypointError, match="no top-level function 'f'"):
        describe_entrypoint(root, "main:f")


def test_syntax_error_is_reported_with_line(make_solution):
    root = make_solution({"main.py": "def predict(x):\n    return (\n"})
    with pytest.raises(EntrypointError, match="syntax error at line"):
        resolve_entrypoint(root)


def test_invalid_pyproject(make_solution):
    root = make_solution({"main.py": "def predict(x): ...\n", "pyproject.toml": "[tool\n"})
    with pytest.raises(EntrypointError, match="not valid TOML"):
        resolve_entrypoint(root)


@pytest.mark.parametrize(
    ("signature", "convention"),
    [
        ("inputs", "dict"),
        ("data: dict", "dict"),
        ("data: dict[str, int]", "dict"),
        ("data: typing.Mapping[str, int]", "dict"),
        ("text: str", "kwargs"),
        ("text", "kwargs"),
        ("a, b", "kwargs"),
        ("*, inputs", "kwargs"),
        ("", "kwargs"),
    ],
)
def test_calling_convention(make_solution, signature, convention):
    root = make_solution({"main.py": f"async def predict({signature}):\n    pass\n"})
    assert describe_entrypoint(root, "main:predict").calling_convention == convention
