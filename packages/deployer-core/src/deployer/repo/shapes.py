"""Entry points of every published shape, found statically (ast + manifests), never by import.

Deployer's process need not have the solution's dependencies, so this reads source only:
classes with a load step and a predict method (Cog, Truss, MLflow, BentoML, plain), module-level
objects (LangGraph graphs, Modal functions, Gradio apps, ASGI/WSGI apps), conventional
functions and package re-exports. Where reading cannot decide (decorated or dynamic objects,
star-imports of compiled modules), the candidate says `needs_introspection`: the serving
runtime's `python -m deployer_runtime inspect` resolves it inside the solution's environment
(see `Introspector`).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer.errors import EntrypointError
from deployer.models import ENTRYPOINT_PATTERN, EntryKind, Parameter, RunInterface
from deployer.repo.entrypoints import (
    CONVENTIONAL_FILES,
    CONVENTIONAL_FUNCTIONS,
    calling_convention,
    declared_entrypoint,
)
from deployer.repo.ignore import IGNORED_NAMES, IgnoreRules
from deployer.repo.manifests import Manifest, read_manifests

MAX_FILES = 1_000
MAX_DEPTH = 6
MAX_FILE_BYTES = 1_000_000
SKIPPED_DIRS = IGNORED_NAMES | {"tests", "test", "env", "site-packages", "docs", "benchmarks"}
SETUP_METHODS = ("setup", "load", "load_model")
CALL_METHODS = ("predict", "run", "__call__")
STRONG, CLASS, CONVENTION, SEEN = 3, 2, 1, 0
"""Candidate strengths: framework objects, plain load+predict classes, conventional functions,
and names only listed in messages."""

Introspector = Callable[[Path, "Candidate"], RunInterface]
"""The hook for the serving runtime's `inspect` (run in the solution's venv): given the
workspace and a candidate flagged `needs_introspection`, the resolved interface."""


@dataclass
class Candidate:
    """One entry point deployer could call, as found in the source."""

    entrypoint: str
    entry_kind: EntryKind
    flavor: str | None
    source: str
    file: str
    line: int = 0
    method: str | None = None
    setup: list[str] = field(default_factory=list)
    route: str | None = None
    calling_convention: str = "kwargs"
    signature: list[Parameter] = field(default_factory=list)
    strength: int = STRONG
    needs_introspection: bool = False
    hooks: list[str] = field(default_factory=list)
    """Optional methods around the call (Truss preprocess/postprocess)."""

    @property
    def option(self) -> str:
        """Ready to paste: `--entrypoint module:name`."""
        return f"--entrypoint {self.entrypoint}"

    def describe(self) -> str:
        what = f"{self.flavor} {self.entry_kind}" if self.flavor else self.entry_kind
        return f"{self.option} ({what} in {self.file}:{self.line})"

    def run_interface(self) -> RunInterface:
        return RunInterface(
            kind="function",
            entrypoint=self.entrypoint,
            calling_convention="dict" if self.calling_convention == "dict" else "kwargs",
            parameters=[p.name for p in self.signature],
            entry_kind=self.entry_kind,
            flavor=self.flavor,
            method=self.method,
            setup=list(self.setup),
            route=self.route,
            signature=list(self.signature),
            source=self.source,
        )


# --- modules and names ----------------------------------------------------------------------


def module_name(root: Path, path: Path) -> str:
    """The import name of a file: `src/pkg/mod.py` -> `pkg.mod` (src layout), `a/b.py` -> `a.b`."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts and parts[0] == "src" and not (root / "src" / "__init__.py").is_file():
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def find_module(root: Path, module: str) -> Path | None:
    """The file for a dotted module, in the flat or the src layout."""
    for base in (root, root / "src"):
        target = base.joinpath(*module.split("."))
        for candidate in (target.with_suffix(".py"), target / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def parse_file(path: Path, root: Path) -> ast.Module:
    """A solution file's ast; a syntax error is one line naming the file and line."""
    where = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EntrypointError(f"cannot read {where}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise EntrypointError(f"{where} is larger than {MAX_FILE_BYTES} bytes; not read")
    try:
        return ast.parse(data, filename=where)
    except SyntaxError as exc:
        raise EntrypointError(
            f"{where} line {exc.lineno}: syntax error: {exc.msg}", hint="fix the file"
        ) from None
    except ValueError as exc:  # null bytes
        raise EntrypointError(f"{where} is not Python source: {exc}") from None


def python_files(root: Path) -> Iterator[Path]:
    """The solution's .py files, bounded; skipping tests, venvs, hidden and build dirs."""
    count = 0
    rules = IgnoreRules(root)  # the solution's .gitignore/.dockerignore/.deployerignore too
    for directory, dirs, files in os.walk(root):
        here = Path(directory)
        relative = here.relative_to(root)
        depth = len(relative.parts)
        dirs[:] = sorted(
            d
            for d in dirs
            if depth < MAX_DEPTH
            and not d.startswith(".")
            and d not in SKIPPED_DIRS
            and not d.endswith(".egg-info")
            and not (here / d / "pyvenv.cfg").exists()
            and not rules.ignored((relative / d).as_posix(), is_dir=True)
        )
        for name in sorted(files):
            if not name.endswith(".py") or name in {"setup.py", "conftest.py", "noxfile.py"}:
                continue
            if name.startswith("test_") or name.endswith("_test.py"):
                continue
            if rules.ignored((relative / name).as_posix()):
                continue
            count += 1
            if count > MAX_FILES:
                return
            yield here / name


class Imports:
    """A module's import aliases, to turn `gr.Interface` into `gradio.Interface`."""

    def __init__(self, tree: ast.Module, module: str) -> None:
        self.names: dict[str, str] = {}
        self.star: list[tuple[str, int]] = []
        package = module if module else ""
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    self.names[local] = alias.name if alias.asname else alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")
                    parent = parent[: len(parent) - node.level + 1] if node.level > 1 else parent
                    base = ".".join([*parent, base] if base else parent).strip(".")
                for alias in node.names:
                    if alias.name == "*":
                        self.star.append((base, node.level))
                    else:
                        self.names[alias.asname or alias.name] = f"{base}.{alias.name}"

    def qualify(self, node: ast.expr) -> str | None:
        """`gr.Interface` -> 'gradio.Interface'; calls are unwrapped to their function."""
        if isinstance(node, ast.Call):
            node = node.func
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        head = self.names.get(node.id, node.id)
        return ".".join([head, *reversed(parts)])

    def uses(self, package: str) -> bool:
        return any(v == package or v.startswith(package + ".") for v in self.names.values())


def _literal(node: ast.expr | None) -> tuple[bool, Any]:
    if node is None:
        return False, None
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _number(node: ast.expr | None) -> float | None:
    ok, value = _literal(node)
    return float(value) if ok and isinstance(value, int | float) else None


def signature_of(
    func: ast.FunctionDef | ast.AsyncFunctionDef, imports: Imports, skip: int = 0
) -> list[Parameter]:
    """Parameters with annotations and defaults, Cog's `Input(...)` read statically; the first
    `skip` positional parameters (self, context) left out."""
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += list(args.defaults)
    pairs = list(zip(positional, defaults, strict=True))[skip:]
    pairs += list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
    params = []
    for arg, default in pairs:
        param = Parameter(
            name=arg.arg, annotation=ast.unparse(arg.annotation) if arg.annotation else None
        )
        if isinstance(default, ast.Call) and (imports.qualify(default) or "").endswith("Input"):
            _read_input(default, param)
        elif default is not None:
            ok, value = _literal(default)
            param.required = False
            param.default = value if ok else None
        params.append(param)
    return params


def _read_input(call: ast.Call, param: Parameter) -> None:
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    default = call.args[0] if call.args else keywords.get("default")
    if default is not None or "default_factory" in keywords:
        ok, value = _literal(default)
        param.required = False
        param.default = value if ok else None
    ok, description = _literal(keywords.get("description"))
    param.description = description if ok and isinstance(description, str) else None
    ok, choices = _literal(keywords.get("choices"))
    param.choices = list(choices) if ok and isinstance(choices, list | tuple) else None
    param.ge, param.le = _number(keywords.get("ge")), _number(keywords.get("le"))


def _convention(params: list[Parameter]) -> str:
    if len(params) != 1:
        return "kwargs"
    only = params[0]
    if only.name == "inputs":
        return "dict"
    base = (only.annotation or "").split("[", 1)[0].split(".")[-1]
    return "dict" if base in {"dict", "Dict", "Mapping", "MutableMapping"} else "kwargs"


# --- one module -----------------------------------------------------------------------------


@dataclass
class ModuleInfo:
    module: str
    file: str
    tree: ast.Module
    imports: Imports
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]
    classes: dict[str, ast.ClassDef]
    assigned: dict[str, ast.expr]
    with_names: dict[str, ast.expr]
    dynamic: bool


def read_module(root: Path, path: Path) -> ModuleInfo:
    tree = parse_file(path, root)
    module = module_name(root, path)
    is_package = path.name == "__init__.py"
    imports = Imports(tree, module if is_package else module.rpartition(".")[0])
    functions, classes, assigned, with_names = {}, {}, {}, {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            functions[node.name] = node
        elif isinstance(node, ast.ClassDef):
            classes[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            assigned[node.target.id] = node.value
        elif isinstance(node, ast.With):
            for item in node.items:
                if isinstance(item.optional_vars, ast.Name):
                    with_names[item.optional_vars.id] = item.context_expr
    dynamic = "__getattr__" in functions
    return ModuleInfo(
        module,
        path.relative_to(root).as_posix(),
        tree,
        imports,
        functions,
        classes,
        assigned,
        with_names,
        dynamic,
    )


def _methods(node: ast.ClassDef) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    return {n.name: n for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def _bases(info: ModuleInfo, node: ast.ClassDef, depth: int = 0) -> set[str]:
    """Qualified base names, following base classes defined in the same module."""
    found: set[str] = set()
    for base in node.bases:
        name = info.imports.qualify(base) or ""
        found.add(name)
        local = info.classes.get(name)
        if local is not None and local is not node and depth < 5:
            found |= _bases(info, local, depth + 1)
    return found


def _decorators(info: ModuleInfo, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
    return [(info.imports.qualify(d) or "", d) for d in node.decorator_list]


def class_candidates(
    info: ModuleInfo, node: ast.ClassDef, method: str | None = None
) -> list[Candidate]:
    """What a class offers: framework conventions first, then setup+predict by name."""
    methods = _methods(node)
    bases = _bases(info, node)
    local_methods = dict(methods)
    for base_name in bases:  # methods inherited from a class in the same module
        local = info.classes.get(base_name)
        if local is not None:
            local_methods = {**_methods(local), **local_methods}
    decorators = _decorators(info, node)
    ref = f"{info.module}:{node.name}"

    def make(
        flavor: str, call: str, setup: list[str], strength: int, skip: int = 1, **extra: Any
    ) -> Candidate:
        func = local_methods.get(call)
        signature = signature_of(func, info.imports, skip) if func else []
        convention = extra.pop("convention", None) or _convention(signature)
        return Candidate(
            entrypoint=ref if method is None else f"{ref}.{call}",
            entry_kind=extra.pop("kind", "class"),
            flavor=flavor,
            source=extra.pop("source", "detected"),
            file=info.file,
            line=node.lineno,
            method=call or None,
            setup=[s for s in setup if s in local_methods],
            calling_convention=convention,
            signature=signature,
            strength=strength,
            **extra,
        )

    if any(b.endswith(("cog.BaseRunner", "cog.BasePredictor")) for b in bases):
        runner = any(b.endswith("cog.BaseRunner") for b in bases)
        call = method or ("run" if runner and "run" in local_methods else "predict")
        return [make("cog", call, ["setup"], STRONG)]
    if any(b.startswith("mlflow.pyfunc") and b.endswith("PythonModel") for b in bases):
        return [
            make("mlflow", method or "predict", ["load_context"], STRONG, skip=2, convention="dict")
        ]
    service = [d for name, d in decorators if name in {"bentoml.service", "bentoml.Service"}]
    if service:
        apis = [
            name
            for name, func in methods.items()
            if any(
                (info.imports.qualify(d) or "") in {"bentoml.api", "bentoml.task"}
                for d in func.decorator_list
            )
        ]
        mounts = [d for name, d in decorators if name == "bentoml.asgi_app"]
        if method is not None or len(apis) == 1:
            call = method or apis[0]
            return [make("bentoml", call, [], STRONG)]
        if apis:
            out = [make("bentoml", a, [], STRONG) for a in apis]
            for candidate, api in zip(out, apis, strict=True):
                candidate.entrypoint = f"{ref}.{api}"
            return out
        if mounts:
            route = _mounted_route(info, mounts[0])
            return [make("bentoml", "", [], STRONG, kind="asgi", route=route, convention="dict")]
        return []
    is_truss = (
        node.name == "Model" and "predict" in local_methods and info.file.endswith("model.py")
    )
    if is_truss:
        hooks = [h for h in ("preprocess", "postprocess") if h in local_methods]
        predict = local_methods["predict"]
        signature = signature_of(predict, info.imports, 1)
        return [
            make(
                "truss",
                "predict",
                ["load"],
                STRONG,
                hooks=hooks,
                convention="dict" if len(signature) == 1 else _convention(signature),
            )
        ]
    setups = [s for s in SETUP_METHODS if s in local_methods]
    calls = [c for c in CALL_METHODS if c in local_methods]
    if method is not None:
        return [make("plain", method, setups, CLASS)] if method in local_methods else []
    if setups and calls:
        return [make("plain", calls[0], setups, CLASS)]
    return []


def _mounted_route(info: ModuleInfo, decorator: ast.expr) -> str | None:
    if not isinstance(decorator, ast.Call) or not decorator.args:
        return None
    app = decorator.args[0]
    if isinstance(app, ast.Name):
        return _post_route(info, app.id)
    return None


def _post_route(info: ModuleInfo, app: str) -> str | None:
    routes = _post_routes(info, app)
    return routes[0][0] if len(routes) == 1 else None


def _post_routes(
    info: ModuleInfo,
    app: str,
    handlers: Iterable[ast.FunctionDef | ast.AsyncFunctionDef] = (),
) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """(path, handler) of each POST route declared with the app's decorators, on module-level
    functions and on `handlers` (a class-based view's methods, e.g. a Serve ingress class)."""
    found = []
    for func in [*info.functions.values(), *handlers]:
        for decorator in func.decorator_list:
            if not isinstance(decorator, ast.Call) or not isinstance(decorator.func, ast.Attribute):
                continue
            owner = decorator.func.value
            if not (isinstance(owner, ast.Name) and owner.id == app):
                continue
            verb = decorator.func.attr
            ok, path = _literal(decorator.args[0]) if decorator.args else (False, None)
            if not ok or not isinstance(path, str):
                continue
            methods = {"GET"}
            for keyword in decorator.keywords:
                if keyword.arg == "methods":
                    ok, listed = _literal(keyword.value)
                    methods = {str(m).upper() for m in listed} if ok and listed else methods
            if verb == "post" or (verb in {"route", "api_route"} and "POST" in methods):
                found.append((path, func))
    return found


def object_candidate(info: ModuleInfo, name: str, value: ast.expr, line: int) -> Candidate | None:
    """A module-level object: graph, ASGI/WSGI app, Gradio app."""
    qualified = info.imports.qualify(value) or ""
    ref = f"{info.module}:{name}"
    base = dict(entrypoint=ref, source="detected", file=info.file, line=line)
    if isinstance(value, ast.Call):
        func = value.func
        if isinstance(func, ast.Attribute) and func.attr == "bind":
            deployment = _serve_deployment_name(info, func.value)
            if deployment is not None:
                return _serve_candidate(info, deployment, **base)
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "compile"
            and info.imports.uses("langgraph")
        ):
            return Candidate(
                entry_kind="graph", flavor="langgraph", calling_convention="dict", **base
            )
        if qualified.startswith("langgraph") and qualified.endswith(
            ("StateGraph", "create_react_agent", "MessageGraph")
        ):
            return Candidate(
                entry_kind="graph", flavor="langgraph", calling_convention="dict", **base
            )
        web = {
            "fastapi.FastAPI": ("asgi", "fastapi"),
            "starlette.applications.Starlette": ("asgi", "starlette"),
            "starlette.Starlette": ("asgi", "starlette"),
            "flask.Flask": ("wsgi", "flask"),
        }
        if qualified in web:
            kind, flavor = web[qualified]
            routes = _post_routes(info, name)
            candidate = Candidate(entry_kind=kind, flavor=flavor, calling_convention="dict", **base)
            if len(routes) == 1:
                candidate.route = routes[0][0]
                candidate.signature = signature_of(routes[0][1], info.imports)
            return candidate
        if qualified in {"gradio.Interface", "gradio.ChatInterface"}:
            fn = next((k.value for k in value.keywords if k.arg == "fn"), None)
            fn = fn if fn is not None else (value.args[0] if value.args else None)
            candidate = Candidate(entry_kind="gradio", flavor="gradio", **base)
            if isinstance(fn, ast.Name) and fn.id in info.functions:
                candidate.method = fn.id
                candidate.signature = signature_of(info.functions[fn.id], info.imports)
                candidate.calling_convention = _convention(candidate.signature)
            else:
                candidate.needs_introspection = True
            return candidate
    return None


def module_candidates(info: ModuleInfo, root: Path) -> list[Candidate]:
    out: list[Candidate] = []
    for node in info.tree.body:
        if isinstance(node, ast.ClassDef):
            out.extend(class_candidates(info, node))
    for name, value in info.assigned.items():
        line = getattr(value, "lineno", 0)
        candidate = object_candidate(info, name, value, line)
        if candidate is not None:
            out.append(candidate)
    for name, value in info.with_names.items():
        if (info.imports.qualify(value) or "") == "gradio.Blocks":
            out.append(
                Candidate(
                    entrypoint=f"{info.module}:{name}",
                    entry_kind="gradio",
                    flavor="gradio",
                    source="detected",
                    file=info.file,
                    line=getattr(value, "lineno", 0),
                    needs_introspection=True,
                )
            )
    out.extend(modal_candidates(info))
    if any(c.entry_kind == "serve_app" for c in out):
        # the FastAPI app a Serve ingress wraps (`@serve.ingress(app)`) is the application's part
        out = [c for c in out if c.entry_kind != "asgi"]
    else:
        out.extend(serve_deployment_candidates(info))
    conventional_file = info.file in CONVENTIONAL_FILES
    for name in CONVENTIONAL_FUNCTIONS:
        func = info.functions.get(name)
        if func is None or _decorators(info, func):
            continue
        out.append(function_candidate(info, func, CONVENTION if conventional_file else SEEN))
    out.extend(reexport_candidates(info, root))
    mounted = {c.route for c in out if c.flavor == "bentoml" and c.entry_kind == "asgi"}
    if any(c.flavor == "bentoml" for c in out):  # a FastAPI app mounted by a service is its part
        out = (
            [c for c in out if not (c.entry_kind == "asgi" and c.flavor != "bentoml")]
            if mounted
            else out
        )
    return out


def function_candidate(
    info: ModuleInfo, func: ast.FunctionDef | ast.AsyncFunctionDef, strength: int
) -> Candidate:
    signature = signature_of(func, info.imports)
    return Candidate(
        entrypoint=f"{info.module}:{func.name}",
        entry_kind="function",
        flavor=None,
        source="convention",
        file=info.file,
        line=func.lineno,
        calling_convention=calling_convention(func),
        signature=signature,
        strength=strength,
    )


def modal_candidates(info: ModuleInfo) -> list[Candidate]:
    apps = {
        name
        for name, value in info.assigned.items()
        if (info.imports.qualify(value) or "") in {"modal.App", "modal.Stub"}
    }
    out = []
    for func in info.functions.values():
        for decorator in func.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if (
                isinstance(target, ast.Attribute)
                and target.attr == "function"
                and isinstance(target.value, ast.Name)
                and target.value.id in apps
            ):
                signature = signature_of(func, info.imports)
                out.append(
                    Candidate(
                        entrypoint=f"{info.module}:{func.name}",
                        entry_kind="modal_function",
                        flavor="modal",
                        source="detected",
                        file=info.file,
                        line=func.lineno,
                        calling_convention=_convention(signature),
                        signature=signature,
                    )
                )
    return out


SERVE_DEPLOYMENT = "ray.serve.deployment"
SERVE_INGRESS = "ray.serve.ingress"


def _is_serve_deployment(info: ModuleInfo, name: str) -> bool:
    """`name` is a Ray Serve deployment made in this module: a class or function under
    `@serve.deployment` (with or without options), or `name = serve.deployment(...)(...)`
    / `name = Other.options(...)` of one."""
    node = info.classes.get(name) or info.functions.get(name)
    if node is not None:
        return any(qualified == SERVE_DEPLOYMENT for qualified, _ in _decorators(info, node))
    value = info.assigned.get(name)
    if value is None:
        return False
    return _serve_deployment_name(info, value) is not None


def _serve_deployment_name(info: ModuleInfo, node: ast.expr) -> str | None:
    """The module-level deployment an expression stands for (`Greeter`,
    `Greeter.options(...)`, `serve.deployment(...)(Cls)`), or None."""
    if isinstance(node, ast.Name):
        return node.id if _is_serve_deployment(info, node.id) else None
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "options":
            return _serve_deployment_name(info, func.value)
        while isinstance(func, ast.Call):  # serve.deployment(num_replicas=2)(Cls)
            func = func.func
        if (info.imports.qualify(func) or "") == SERVE_DEPLOYMENT and node.args:
            return _wrapped_name(node.args[0])
    return None


def _wrapped_name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else "<inline>"


def _serve_candidate(info: ModuleInfo, deployment: str, **base: Any) -> Candidate:
    """A Serve application (or a deployment deployer binds), served as the author wrote it;
    `run` posts the input object to the ingress's one POST route, else to its root."""
    return Candidate(
        entry_kind="serve_app",
        flavor="ray",
        calling_convention="dict",
        route=_ingress_route(info, deployment) or "/",
        **base,
    )


def _ingress_route(info: ModuleInfo, deployment: str) -> str | None:
    """The one POST route of a FastAPI app given to `@serve.ingress(app)`: routes declared
    on the app at module level and on the deployment class's methods."""
    node = info.classes.get(deployment)
    if node is None:
        return None
    for qualified, decorator in _decorators(info, node):
        if qualified != SERVE_INGRESS or not isinstance(decorator, ast.Call):
            continue
        app = decorator.args[0] if decorator.args else None
        if not isinstance(app, ast.Name):
            return None
        routes = _post_routes(info, app.id, _methods(node).values())
        return routes[0][0] if len(routes) == 1 else None
    return None


def serve_deployment_candidates(info: ModuleInfo) -> list[Candidate]:
    """`@serve.deployment` classes and functions of a module (bound by deployer with no
    arguments), for modules without a module-level `app = Deployment.bind(...)`."""
    out = []
    for name, node in [*info.classes.items(), *info.functions.items()]:
        if _is_serve_deployment(info, name):
            out.append(
                _serve_candidate(
                    info,
                    name,
                    entrypoint=f"{info.module}:{name}",
                    source="detected",
                    file=info.file,
                    line=node.lineno,
                    strength=CLASS,
                )
            )
    return out


def reexport_candidates(info: ModuleInfo, root: Path) -> list[Candidate]:
    """Conventional functions a package re-exports (`from .core import predict`, `*`)."""
    if not info.file.endswith("__init__.py"):
        return []
    out = []
    for local, target in info.imports.names.items():
        module, _, name = target.rpartition(".")
        if local not in CONVENTIONAL_FUNCTIONS or not module.startswith(info.module):
            continue
        inner = _function_in(root, module, name)
        if inner is not None:
            candidate = function_candidate(inner[0], inner[1], CONVENTION)
            candidate.entrypoint = f"{info.module}:{local}"
            candidate.source = f"re-export in {info.file}"
            out.append(candidate)
    for module, _level in info.imports.star:
        path = find_module(root, module)
        if path is None:
            if module.startswith(info.module):
                out.append(
                    Candidate(
                        entrypoint=f"{info.module}:predict",
                        entry_kind="function",
                        flavor=None,
                        source=f"star-import in {info.file}",
                        file=info.file,
                        needs_introspection=True,
                        strength=SEEN,
                    )
                )
            continue
        inner_info = read_module(root, path)
        exported = _all_names(inner_info)
        for name in CONVENTIONAL_FUNCTIONS:
            func = inner_info.functions.get(name)
            if func is not None and (exported is None or name in exported):
                candidate = function_candidate(inner_info, func, CONVENTION)
                candidate.entrypoint = f"{info.module}:{name}"
                candidate.source = f"re-export in {info.file}"
                out.append(candidate)
    return out


def _all_names(info: ModuleInfo) -> set[str] | None:
    value = info.assigned.get("__all__")
    ok, names = _literal(value)
    return set(names) if ok and isinstance(names, list | tuple) else None


def _function_in(root: Path, module: str, name: str) -> tuple[ModuleInfo, ast.FunctionDef] | None:
    path = find_module(root, module)
    if path is None:
        return None
    info = read_module(root, path)
    func = info.functions.get(name)
    return (info, func) if func is not None else None


# --- the whole solution ---------------------------------------------------------------------


@dataclass
class Scan:
    candidates: list[Candidate]
    unreadable: list[str]


def detect(root: Path) -> Scan:
    """Every candidate in the solution's Python files (bounded walk), strongest first."""
    root = root.resolve()
    found: list[Candidate] = []
    unreadable: list[str] = []
    for path in python_files(root):
        try:
            info = read_module(root, path)
            found.extend(module_candidates(info, root))
        except EntrypointError as exc:
            unreadable.append(exc.message)
    unique: dict[str, Candidate] = {}
    for candidate in found:
        kept = unique.get(candidate.entrypoint)
        if kept is None or candidate.strength > kept.strength:
            unique[candidate.entrypoint] = candidate
    ordered = sorted(unique.values(), key=lambda c: (-c.strength, c.entrypoint))
    return Scan(_drop_reexported_duplicates(ordered), unreadable)


def _drop_reexported_duplicates(candidates: list[Candidate]) -> list[Candidate]:
    """`pkg:predict` re-exporting `pkg.core:predict` is one entry point, named the short way."""
    reexported = {(c.file, c.line) for c in candidates if c.source.startswith("re-export")}
    return [
        c
        for c in candidates
        if c.source.startswith("re-export") or (c.file, c.line) not in reexported
    ]


def describe(
    root: Path, entrypoint: str, source: str = "option", hint: Manifest | None = None
) -> Candidate:
    """The candidate that `module:name` or `module:Class.method` names, checked statically."""
    root = root.resolve()
    if not ENTRYPOINT_PATTERN.match(entrypoint):
        raise EntrypointError(
            f"entry point {entrypoint!r} must look like 'module:function' or 'module:Class.method'"
        )
    module, _, attribute = entrypoint.partition(":")
    name, _, method = attribute.partition(".")
    path = find_module(root, module)
    if path is None:
        raise EntrypointError(
            f"entry point {entrypoint!r}: module {module!r} not found in the solution",
            hint="the module path is relative to the solution's top directory (or src/)",
        )
    info = read_module(root, path)
    candidate = _describe_name(root, info, name, method or None)
    if candidate is None:
        if method and name in info.classes:
            raise EntrypointError(
                f"entry point {entrypoint!r}: class {name!r} in {info.file} "
                f"has no method {method!r}"
            )
        raise EntrypointError(f"entry point {entrypoint!r}: {info.file} has no top-level {name!r}")
    candidate.entrypoint = entrypoint
    candidate.source = source
    if hint is not None and hint.flavor and candidate.flavor in {None, "plain"}:
        candidate.flavor = hint.flavor
    return candidate


def _introspected(
    info: ModuleInfo,
    name: str,
    *,
    entry_kind: EntryKind = "function",
    flavor: str | None = None,
    line: int = 0,
) -> Candidate:
    """A name static reading cannot settle (re-exported, decorated, dynamic): named now,
    its kind decided by introspection in the solution's own environment."""
    return Candidate(
        entrypoint=f"{info.module}:{name}",
        entry_kind=entry_kind,
        flavor=flavor,
        source="option",
        file=info.file,
        line=line,
        needs_introspection=True,
    )


def _describe_name(root: Path, info: ModuleInfo, name: str, method: str | None) -> Candidate | None:
    if method is None and _is_serve_deployment(info, name):
        found = [c for c in serve_deployment_candidates(info) if c.entrypoint.endswith(f":{name}")]
        if found:
            return found[0]
    if name in info.classes:
        found = class_candidates(info, info.classes[name], method)
        if found:
            return found[0]
        node = info.classes[name]
        inherited = [b for b in _bases(info, node) if b not in info.classes and b != "object"]
        if method and method not in _methods(node) and not inherited:
            return None
        return Candidate(
            entrypoint=f"{info.module}:{name}",
            entry_kind="class",
            flavor="plain",
            source="option",
            file=info.file,
            line=node.lineno,
            method=method,
            needs_introspection=method is None,
        )
    if method:
        if name in info.assigned or name in info.imports.names:
            return Candidate(
                entrypoint=f"{info.module}:{name}.{method}",
                entry_kind="function",
                flavor=None,
                source="option",
                file=info.file,
                method=method,
                needs_introspection=True,
            )
        return None
    if name in info.functions:
        func = info.functions[name]
        modal = [c for c in modal_candidates(info) if c.entrypoint.endswith(f":{name}")]
        if modal:
            return modal[0]
        candidate = function_candidate(info, func, CONVENTION)
        if _decorators(info, func):
            candidate.needs_introspection = True
        returns = ast.unparse(func.returns) if func.returns else ""
        takes_nothing = all(not p.required for p in candidate.signature)
        if info.imports.uses("langgraph") and ("Graph" in returns or takes_nothing):
            candidate.entry_kind, candidate.flavor = "graph", "langgraph"  # a graph factory
            candidate.needs_introspection = "Graph" not in returns
        return candidate
    if name in info.assigned:
        value = info.assigned[name]
        candidate = object_candidate(info, name, value, getattr(value, "lineno", 0))
        if candidate is not None:
            return candidate
        return _introspected(info, name, line=getattr(value, "lineno", 0))
    if name in info.with_names:
        return _introspected(info, name, entry_kind="gradio", flavor="gradio")
    if name in info.imports.names:  # re-exported: follow it when it is the solution's own
        target = info.imports.names[name]
        module, _, inner = target.rpartition(".")
        path = find_module(root, module)
        if path is not None and path.resolve() != (root / info.file).resolve():
            found = _describe_name(root, read_module(root, path), inner, None)
            if found is not None:
                return found
        return _introspected(info, name)
    for module, _level in info.imports.star:
        path = find_module(root, module)
        if path is None:  # compiled or third-party: only the solution's env can tell
            return _introspected(info, name)
        found = _describe_name(root, read_module(root, path), name, None)
        if found is not None:
            return found
    if info.dynamic:
        return _introspected(info, name)
    return None


def resolve_candidate(
    root: Path,
    explicit: str | None = None,
    display: str | None = None,
    strict_manifests: bool = True,
) -> Candidate:
    """The entry point, by precedence: explicit option > `[tool.deployer] entrypoint` > the
    solution's own manifest > detected candidates (one strongest wins) > an error naming
    `display` (the user's directory as given) and listing what was seen. With
    `strict_manifests=False` a manifest entry that does not exist is passed over (the strategy
    that reads that manifest reports it) instead of being an error here."""
    root = root.resolve()
    shown = display or str(root)
    if explicit:
        return describe(root, explicit, "option")
    declared = declared_entrypoint(root)
    if declared:
        return describe(root, declared, "pyproject.toml [tool.deployer]")
    manifests = read_manifests(root)
    for manifest in manifests:
        if manifest.entrypoint:
            label = manifest.entry_source or manifest.file
            try:
                return describe(root, manifest.entrypoint, label, manifest)
            except EntrypointError as exc:
                if strict_manifests:
                    raise EntrypointError(f"{label}: {exc.message}", hint=exc.hint) from None
                continue
        if len(manifest.entries) > 1:
            listed = ", ".join(f"--entrypoint {e}" for e in manifest.entries.values())
            raise EntrypointError(
                f"{manifest.file} in {shown} names several entry points: {listed}",
                hint="choose one with --entrypoint",
            )
    scan = detect(root)
    callable_ = [c for c in scan.candidates if c.strength > SEEN]
    how = "pass --entrypoint module:name or set [tool.deployer] entrypoint in pyproject.toml"
    if callable_:
        top = callable_[0].strength
        best = [c for c in callable_ if c.strength == top]
        if len(best) == 1:
            return best[0]
        listed = "; ".join(c.describe() for c in best)
        raise EntrypointError(f"several entry points found in {shown}: {listed}", hint=how)
    seen = (
        "; ".join(c.describe() for c in scan.candidates) or "no classes, graphs, apps or functions"
    )
    unreadable = f"; could not read: {'; '.join(scan.unreadable)}" if scan.unreadable else ""
    raise EntrypointError(f"no entry point found in {shown}: saw {seen}{unreadable}", hint=how)


def resolve(
    root: Path,
    explicit: str | None = None,
    display: str | None = None,
    introspect: Introspector | None = None,
) -> RunInterface:
    """The RunInterface for the solution; candidates that static reading cannot settle go to
    `introspect` (the serving runtime's inspect, in the solution's venv) when one is given."""
    candidate = resolve_candidate(root, explicit, display)
    if candidate.needs_introspection and introspect is not None:
        return introspect(root.resolve(), candidate)
    return candidate.run_interface()
