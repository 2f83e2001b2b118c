"""Finding and describing a solution's entry point without importing its code.

The adapter runs in deployer's own environment, which need not have the solution's
dependencies, so everything here reads source with `ast` instead of importing it.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from deployer.errors import EntrypointError
from deployer.models import RunInterface

CONVENTIONAL_FILES = ("main.py", "predict.py", "app.py", "handler.py")
CONVENTIONAL_FUNCTIONS = ("predict", "run", "handler", "main", "infer")


def _parse(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        raise EntrypointError(
            f"{path.name} has a syntax error at line {exc.lineno}: {exc.msg}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EntrypointError(f"cannot read {path}: {exc}") from None


def _top_level_functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def module_file(root: Path, module: str) -> Path | None:
    """The file that `module` (dotted) refers to under root, if any."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def declared_entrypoint(root: Path) -> str | None:
    """`[tool.deployer] entrypoint` from the solution's pyproject.toml, if present."""
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EntrypointError(f"pyproject.toml is not valid TOML: {exc}") from None
    value = data.get("tool", {}).get("deployer", {}).get("entrypoint")
    if value is not None and not isinstance(value, str):
        raise EntrypointError("[tool.deployer] entrypoint in pyproject.toml must be a string")
    return value


def conventional_candidates(root: Path) -> list[str]:
    found: list[str] = []
    for filename in CONVENTIONAL_FILES:
        path = root / filename
        if not path.is_file():
            continue
        functions = _top_level_functions(_parse(path))
        found.extend(f"{path.stem}:{name}" for name in CONVENTIONAL_FUNCTIONS if name in functions)
    return found


def resolve_entrypoint(root: Path, explicit: str | None = None) -> str:
    """The entry point, from (in order) the explicit value, pyproject.toml, conventions."""
    if explicit:
        return explicit
    declared = declared_entrypoint(root)
    if declared:
        return declared
    candidates = conventional_candidates(root)
    how = "pass --entrypoint module:function or set [tool.deployer] entrypoint in pyproject.toml"
    if not candidates:
        raise EntrypointError(
            f"no entry point found in {root}: looked for functions named "
            f"{', '.join(CONVENTIONAL_FUNCTIONS)} in {', '.join(CONVENTIONAL_FILES)}",
            hint=how,
        )
    if len(candidates) > 1:
        raise EntrypointError(
            f"several entry points found in {root}: {', '.join(candidates)}", hint=how
        )
    return candidates[0]


def describe_entrypoint(root: Path, entrypoint: str) -> RunInterface:
    """Check the entry point exists and work out how to call it."""
    module, _, function = entrypoint.partition(":")
    if not module or not function:
        raise EntrypointError(f"entry point {entrypoint!r} must look like 'module:function'")
    path = module_file(root, module)
    if path is None:
        raise EntrypointError(
            f"entry point {entrypoint!r}: module {module!r} not found in {root}",
            hint="the module path is relative to the solution's top directory",
        )
    node = _top_level_functions(_parse(path)).get(function)
    if node is None:
        raise EntrypointError(
            f"entry point {entrypoint!r}: {path.name} has no top-level function {function!r}"
        )
    args = node.args
    params = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
    return RunInterface(
        kind="function",
        entrypoint=entrypoint,
        calling_convention=calling_convention(node),
        parameters=params,
    )


def calling_convention(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """'dict' for one parameter named `inputs` or typed dict; otherwise 'kwargs'."""
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    if len(positional) + len(args.kwonlyargs) != 1 or args.kwonlyargs:
        return "kwargs"
    only = positional[0]
    if only.arg == "inputs":
        return "dict"
    annotation = only.annotation
    if annotation is None:
        return "kwargs"
    text = ast.unparse(annotation)
    base = text.split("[", 1)[0].split(".")[-1]
    return "dict" if base in {"dict", "Dict", "Mapping", "MutableMapping"} else "kwargs"
