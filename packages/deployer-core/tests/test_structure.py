"""The house rules of core's layout, checked on the source: one public face, no import
cycles, dependencies pointing one way between the stage folders, no private names crossing
modules, and strategy packages that import core only through `deployer.plugin`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import deployer
import deployer.plugin

CORE = Path(deployer.__file__).resolve().parent
PACKAGES = CORE.parents[2]
STRATEGY_SOURCES = sorted(
    p / "src" / p.name.replace("-", "_")
    for p in PACKAGES.glob("deployer-*")
    if p.name != "deployer-core" and (p / "src").is_dir()
)

# Top uses bottom, never back. Modules directly in deployer/ other than these are the bottom.
LAYERS = [
    "cli",
    "testing",
    "deployment",
    "selector",
    "adapter",
    "plugins",
    "runtime",
    "repo",
    "llm",
]
FACES = {"deployer", "deployer.plugin", "deployer.__main__"}  # lazy faces over every layer


def module_name(path: Path) -> str:
    parts = list(path.relative_to(CORE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def runtime_imports(tree: ast.Module, current: str, is_package: bool) -> set[str]:
    """Modules imported when the code runs (imports under `if TYPE_CHECKING:` excluded)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = current if is_package else current.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def core_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in CORE.rglob("*.py") if "scaffold_files" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = runtime_imports(tree, name, path.name == "__init__.py")
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def layer_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return len(LAYERS)  # the bottom: models, errors, paths


def test_public_face_exports_exactly_its_names() -> None:
    """Like httpx's test_exported_members: every name in __all__ resolves, nothing else is
    promised."""
    for face in (deployer, deployer.plugin):
        public = {n for n in dir(face) if not n.startswith("_")} - {"annotations", "import_module"}
        assert set(face.__all__) - {"__version__"} <= public | {"__version__"}
        for name in face.__all__:
            assert getattr(face, name) is not None, f"{face.__name__}.{name}"
        with pytest.raises(AttributeError):
            face.no_such_name  # noqa: B018


def test_importing_deployer_loads_nothing_else() -> None:
    probe = (
        "import sys, deployer, deployer.plugin; print(sorted(m for m in sys.modules "
        "if m.startswith(('deployer', 'pydantic', 'pluggy', 'yaml', 'httpx'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(ast.literal_eval(out.stdout.strip()))
    assert loaded <= {
        "deployer",
        "deployer.lazy",  # the faces' lazy __getattr__, stdlib only
        "deployer.plugin",
        "deployer.plugins",
        "deployer.plugins.hookspecs",
        "pluggy",
    } | {m for m in loaded if m.startswith("pluggy.")}, loaded


def test_repo_digest_does_not_load_the_registry() -> None:
    probe = (
        "import sys, deployer.repo.digest; "
        "print('deployer.plugins.registry' in sys.modules, 'yaml' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_no_import_cycles_between_core_modules() -> None:
    graph = core_graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if target.startswith(tuple(f"{face}." for face in FACES)) or target in FACES:
                continue
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                walk(target, [*stack, target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state and node not in FACES:
            walk(node, [node])
    assert cycles == []


def test_stage_folders_depend_one_way() -> None:
    upward = [
        f"{module} -> {target}"
        for module, targets in core_graph().items()
        if module not in FACES
        for target in targets
        if target not in FACES and layer_of(target) < layer_of(module)
    ]
    assert upward == []


def private_imports(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*.py"):
        if "scaffold_files" in path.parts or "templates" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.level == 0
                and node.module.startswith(("deployer", "deployer_"))
            ):
                found.extend(
                    f"{path.name}: {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and alias.name != "__version__"
                )
    return found


def test_no_private_name_is_imported_across_modules() -> None:
    assert private_imports(CORE) == []
    for source in STRATEGY_SOURCES:
        assert private_imports(source) == []


@pytest.mark.parametrize("source", STRATEGY_SOURCES, ids=lambda p: p.name)
def test_strategy_packages_import_core_only_through_deployer_plugin(source: Path) -> None:
    offenders = []
    for path in source.rglob("*.py"):
        if "templates" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            offenders.extend(
                f"{path.relative_to(source)}: {name}"
                for name in names
                if (name == "deployer" or name.startswith("deployer."))
                and name != "deployer.plugin"
            )
    assert offenders == []
