"""The solution author's own manifests, read for what they state (never executed).

Each reader returns a `Manifest`: the entry point it names (as `module:name`), its
dependencies (through `repo.requirements`), Python version, system packages, GPU, the names of
secrets and environment variables (never their values), and a source label such as
"cog.yaml predict". A malformed manifest is one line naming the file and what to fix.
"""

from __future__ import annotations

import ast
import configparser
import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from deployer.errors import UsageError
from deployer.repo.requirements import (
    RequirementsError,
    RequirementSet,
    display_path,
    normalise_name,
    parse_requirement_strings,
    parse_requirements_file,
    read_text_file,
    read_toml,
)


class ManifestError(UsageError):
    """A manifest exists but cannot be read: one line naming the file and what to fix."""


@dataclass
class Manifest:
    """What one manifest states."""

    kind: str
    file: str
    entrypoint: str | None = None
    entry_source: str | None = None
    entry_kind: str | None = None
    flavor: str | None = None
    entries: dict[str, str] = field(default_factory=dict)
    dependencies: RequirementSet = field(default_factory=RequirementSet)
    python_version: str | None = None
    system_packages: list[str] = field(default_factory=list)
    gpu: str | None = None
    cpu: str | None = None
    memory: str | None = None
    secrets: list[str] = field(default_factory=list)
    env_names: list[str] = field(default_factory=list)
    env_file: str | None = None
    commands: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def path_to_module(spec: str) -> str:
    """`./src/agent.py` or `predict.py` or `pkg.mod` -> the dotted module name."""
    spec = spec.strip().removeprefix("./")
    if spec.endswith(".py"):
        spec = spec[:-3]
        if spec.endswith("/__init__"):
            spec = spec[: -len("/__init__")]
        return spec.replace("/", ".")
    return spec.replace("/", ".")


def split_reference(value: object, where: str) -> tuple[str, str]:
    """`file.py:Name` / `module:Name` -> (module, Name), refusing anything else."""
    if not isinstance(value, str) or value.count(":") != 1:
        raise ManifestError(f"{where} must look like 'file.py:Name', not {value!r}")
    target, name = value.split(":")
    module = path_to_module(target)
    if not re.fullmatch(r"[A-Za-z_][\w.]*", module) or not re.fullmatch(
        r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)?", name.strip()
    ):
        raise ManifestError(f"{where} must look like 'file.py:Name', not {value!r}")
    return module, name.strip()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def load_yaml(path: Path, root: Path) -> dict:
    """A YAML mapping; invalid YAML -> one line with the file and line number."""
    import yaml  # here, not at the top: scanning a repository without manifests stays light

    where = display_path(path, root)
    text = _text(path, root, "YAML file")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or _first_line(exc)
        raise ManifestError(
            f"{where} is not valid YAML{at}: {problem}", hint="fix the YAML syntax"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ManifestError(f"{where} must be a mapping of keys to values at the top level")
    return data


def _text(path: Path, root: Path, what: str) -> str:
    try:
        return read_text_file(path, root, what)
    except RequirementsError as exc:
        raise ManifestError(exc.message, hint=exc.hint) from None


def _toml(path: Path, root: Path) -> dict:
    try:
        return read_toml(path, root)
    except RequirementsError as exc:
        raise ManifestError(exc.message, hint=exc.hint) from None


def _strings(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise ManifestError(f"{where} must be a list of strings")
    return [str(v) for v in value]


def _mapping(value: object, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ManifestError(f"{where} must be a mapping")
    return value


def _requirements_list(items: list[str], where: str, root: Path) -> RequirementSet:
    try:
        return parse_requirement_strings(items, where, root)
    except RequirementsError as exc:
        raise ManifestError(exc.message, hint=exc.hint) from None


def _requirements_file(value: object, base: Path, root: Path, where: str) -> RequirementSet:
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"{where} must be a file name like 'requirements.txt'")
    target = (base / value).resolve()
    if not target.is_relative_to(root):
        raise ManifestError(f"{where}: {value!r} points outside the solution; refused")
    if not target.is_file():
        raise ManifestError(f"{where}: {value!r}: no such file")
    return parse_requirements_file(target, root)


def _python_version(value: object) -> str | None:
    """'3.11', 3.11, 'py311', 'python3.11' -> '3.11'."""
    if value is None:
        return None
    text = str(value).strip().lower().removeprefix("python").removeprefix("py")
    if re.fullmatch(r"3\d{1,2}", text):
        return f"3.{text[1:]}"
    match = re.match(r"^(3\.\d+)", text)
    return match.group(1) if match else None


def _read_build_keys(
    out: Manifest,
    data: dict,
    root: Path,
    prefix: str,
    keys: tuple[str, str, str],
) -> None:
    """Cog's `build` and Truss's config name the same four things under their own keys: a
    list of requirements, a requirements file, system packages, and the Python version."""
    packages, requirements_file, system_packages = keys
    out.dependencies = _requirements_list(
        _strings(data.get(packages), prefix + packages), prefix + packages, root
    )
    if data.get(requirements_file):
        out.dependencies.extend(
            _requirements_file(data[requirements_file], root, root, prefix + requirements_file)
        )
    out.system_packages = _strings(data.get(system_packages), prefix + system_packages)
    out.python_version = _python_version(data.get("python_version"))


# --- cog.yaml ------------------------------------------------------------------------------


def read_cog(root: Path) -> Manifest | None:
    path = root / "cog.yaml"
    if not path.is_file():
        return None
    data = load_yaml(path, root)
    out = Manifest(kind="cog", file="cog.yaml", flavor="cog")
    for key in ("run", "predict"):
        if data.get(key):
            module, name = split_reference(data[key], f"cog.yaml {key}")
            out.entrypoint = f"{module}:{name}"
            out.entry_source = f"cog.yaml {key}"
            out.entry_kind = "class"
            break
    build = _mapping(data.get("build"), "cog.yaml build")
    _read_build_keys(
        out,
        build,
        root,
        prefix="cog.yaml build.",
        keys=("python_packages", "python_requirements", "system_packages"),
    )
    if build.get("gpu"):
        out.gpu = "1"
    out.commands = {f"run {i + 1}": str(c) for i, c in enumerate(build.get("run") or [])}
    return out


# --- Truss config.yaml ---------------------------------------------------------------------

TRUSS_KEYS = {"model_class_name", "model_module_dir", "model_class_filename", "model_name"}


def read_truss(root: Path) -> Manifest | None:
    path = root / "config.yaml"
    if not path.is_file():
        return None
    data = load_yaml(path, root)
    model_dir = root / str(data.get("model_module_dir") or "model")
    if not (TRUSS_KEYS & data.keys() or (model_dir / "model.py").is_file()):
        return None  # some other tool's config.yaml
    out = Manifest(kind="truss", file="config.yaml", flavor="truss", entry_kind="class")
    module_dir = str(data.get("model_module_dir") or "model").strip("/")
    filename = str(data.get("model_class_filename") or "model.py")
    name = str(data.get("model_class_name") or "Model")
    module = path_to_module(f"{module_dir}/{filename}")
    out.entrypoint = f"{module}:{name}"
    out.entry_source = "Truss config.yaml model_class_name"
    if data.get("requirements") and data.get("requirements_file"):
        raise ManifestError(
            "config.yaml: Truss takes either requirements or requirements_file, not both"
        )
    _read_build_keys(
        out,
        data,
        root,
        prefix="config.yaml ",
        keys=("requirements", "requirements_file", "system_packages"),
    )
    resources = _mapping(data.get("resources"), "config.yaml resources")
    accelerator = resources.get("accelerator")
    if accelerator:
        out.gpu = str(accelerator)
    elif resources.get("use_gpu"):
        out.gpu = "1"
    out.cpu = str(resources["cpu"]) if resources.get("cpu") is not None else None
    out.memory = str(resources["memory"]) if resources.get("memory") is not None else None
    out.secrets = sorted(str(k) for k in _mapping(data.get("secrets"), "config.yaml secrets"))
    env = _mapping(data.get("environment_variables"), "config.yaml environment_variables")
    out.env_names = sorted(str(k) for k in env)
    return out


# --- BentoML -------------------------------------------------------------------------------


def read_bentofile(root: Path) -> Manifest | None:
    for filename in ("bentofile.yaml", "bentofile.yml"):
        path = root / filename
        if path.is_file():
            return _bento_build(load_yaml(path, root), filename, root)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        build = _toml(pyproject, root).get("tool", {}).get("bentoml", {}).get("build")
        if isinstance(build, dict):
            return _bento_build(build, "pyproject.toml [tool.bentoml.build]", root)
    return None


def _bento_build(data: dict, where: str, root: Path) -> Manifest:
    out = Manifest(kind="bentoml", file=where.split(" ")[0], flavor="bentoml", entry_kind="class")
    if data.get("service"):
        module, name = split_reference(data["service"], f"{where} service")
        out.entrypoint = f"{module}:{name}"
        out.entry_source = f"{where} service"
    python = _mapping(data.get("python"), f"{where} python")
    out.dependencies = _requirements_list(
        _strings(python.get("packages"), f"{where} python.packages"),
        f"{where} python.packages",
        root,
    )
    if python.get("requirements_txt"):
        out.dependencies.extend(
            _requirements_file(
                python["requirements_txt"], root, root, f"{where} python.requirements_txt"
            )
        )
    docker = _mapping(data.get("docker"), f"{where} docker")
    out.system_packages = _strings(docker.get("system_packages"), f"{where} docker.system_packages")
    out.python_version = _python_version(docker.get("python_version"))
    envs = data.get("envs") or []
    if not isinstance(envs, list):
        raise ManifestError(f"{where} envs must be a list of {{name: ..., value: ...}}")
    for item in envs:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ManifestError(f"{where} envs entries need a 'name'")
        out.env_names.append(item["name"])
    return out


# --- langgraph.json ------------------------------------------------------------------------


def read_langgraph(root: Path) -> Manifest | None:
    path = root / "langgraph.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(_text(path, root, "JSON file"))
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"langgraph.json is not valid JSON at line {exc.lineno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise ManifestError("langgraph.json must be a JSON object")
    out = Manifest(kind="langgraph", file="langgraph.json", flavor="langgraph", entry_kind="graph")
    graphs = _mapping(data.get("graphs"), "langgraph.json graphs")
    for graph_id, reference in graphs.items():
        if isinstance(reference, dict):  # {"path": "...", "description": ...}
            reference = reference.get("path")
        module, name = split_reference(reference, f"langgraph.json graphs.{graph_id}")
        out.entries[str(graph_id)] = f"{module}:{name}"
    if len(out.entries) == 1:
        graph_id, out.entrypoint = next(iter(out.entries.items()))
        out.entry_source = f"langgraph.json graphs.{graph_id}"
    elif out.entries:
        out.notes.append(f"langgraph.json names {len(out.entries)} graphs; choose one")
    requirements = RequirementSet()
    for item in _strings(data.get("dependencies"), "langgraph.json dependencies"):
        if item.startswith((".", "/")):
            target = (root / item).resolve()
            if not target.is_relative_to(root):
                raise ManifestError(
                    f"langgraph.json dependencies: {item!r} is outside the solution"
                )
            if target != root and target.is_dir() and (target / "requirements.txt").is_file():
                requirements.extend(parse_requirements_file(target / "requirements.txt", root))
            continue  # the solution's own directory: installed as the project
        requirements.extend(_requirements_list([item], "langgraph.json dependencies", root))
    out.dependencies = requirements
    env = data.get("env")
    if isinstance(env, str):
        out.env_file = env
    elif isinstance(env, dict):
        out.env_names = sorted(str(k) for k in env)
    out.python_version = _python_version(data.get("python_version"))
    return out


# --- MLproject -----------------------------------------------------------------------------


def read_mlproject(root: Path) -> Manifest | None:
    path = next((root / n for n in ("MLproject", "MLproject.yaml") if (root / n).is_file()), None)
    if path is None:
        return None
    data = load_yaml(path, root)
    out = Manifest(kind="mlflow", file=path.name, flavor="mlflow")
    points = _mapping(data.get("entry_points"), f"{path.name} entry_points")
    for name, point in points.items():
        command = point.get("command") if isinstance(point, dict) else point
        if isinstance(command, str):
            out.commands[str(name)] = command
    if data.get("python_env"):
        env_path = _inside(root, data["python_env"], f"{path.name} python_env")
        env = load_yaml(env_path, root)
        where = f"{env_path.name} dependencies"
        out.dependencies = _requirements_list(_strings(env.get("dependencies"), where), where, root)
        out.python_version = _python_version(env.get("python"))
    elif data.get("conda_env"):
        env_path = _inside(root, data["conda_env"], f"{path.name} conda_env")
        _read_conda(load_yaml(env_path, root), env_path.name, root, out)
    return out


def _inside(root: Path, value: object, where: str) -> Path:
    if not isinstance(value, str):
        raise ManifestError(f"{where} must be a file name")
    target = (root / value).resolve()
    if not target.is_relative_to(root):
        raise ManifestError(f"{where}: {value!r} points outside the solution; refused")
    if not target.is_file():
        raise ManifestError(f"{where}: {value!r}: no such file")
    return target


def _read_conda(env: dict, name: str, root: Path, out: Manifest) -> None:
    pip: list[str] = []
    for item in env.get("dependencies") or []:
        if isinstance(item, dict):
            pip.extend(_strings(item.get("pip"), f"{name} dependencies.pip"))
        elif isinstance(item, str):
            package = re.split(r"[=<>! ]", item, maxsplit=1)[0]
            if package == "python":
                out.python_version = _python_version(item.split("=", 1)[-1])
            elif package != "pip":
                out.dependencies.other_names.add(normalise_name(package))
                out.notes.append(f"{name}: conda package {item!r} (installed with pip by name)")
    out.dependencies.extend(_requirements_list(pip, f"{name} dependencies.pip", root))


# --- setup.py / setup.cfg ------------------------------------------------------------------


def read_setup_py(root: Path) -> Manifest | None:
    """`setup(install_requires=[...])` read with ast: literals, or a module-level list by name."""
    path = root / "setup.py"
    if not path.is_file():
        return None
    source = _text(path, root, "Python file")
    try:
        tree = ast.parse(source, filename="setup.py")
    except SyntaxError as exc:
        raise ManifestError(
            f"setup.py has a syntax error at line {exc.lineno}: {exc.msg}"
        ) from None
    assigned: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                assigned[target.id] = node.value
    out = Manifest(kind="setup.py", file="setup.py")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if called != "setup":
            continue
        for keyword in node.keywords:
            if keyword.arg == "install_requires":
                items = _literal_list(keyword.value, assigned)
                if items is None:
                    out.notes.append(
                        "setup.py computes install_requires; it is not read without running it"
                    )
                else:
                    out.dependencies = _requirements_list(items, "setup.py install_requires", root)
            elif keyword.arg == "python_requires":
                value = _literal(keyword.value, assigned)
                if isinstance(value, str):
                    out.notes.append(f"python_requires {value}")
    return out


def _literal(node: ast.expr, assigned: dict[str, ast.expr]) -> object:
    if isinstance(node, ast.Name) and node.id in assigned:
        node = assigned[node.id]
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _literal_list(node: ast.expr, assigned: dict[str, ast.expr]) -> list[str] | None:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal_list(node.left, assigned), _literal_list(node.right, assigned)
        return None if left is None or right is None else left + right
    value = _literal(node, assigned)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def read_setup_cfg(root: Path) -> Manifest | None:
    path = root / "setup.cfg"
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(_text(path, root, "setup.cfg"), source="setup.cfg")
    except configparser.Error as exc:
        raise ManifestError(f"setup.cfg is not a valid INI file: {_first_line(exc)}") from None
    out = Manifest(kind="setup.cfg", file="setup.cfg")
    if parser.has_option("options", "install_requires"):
        raw = parser.get("options", "install_requires")
        items = [line.strip() for line in raw.splitlines() if line.strip()]
        if len(items) == 1 and ";" not in items[0] and "," in items[0]:
            items = [i.strip() for i in items[0].split(",") if i.strip()]
        out.dependencies = _requirements_list(items, "setup.cfg [options] install_requires", root)
    if parser.has_option("options", "python_requires"):
        out.notes.append(f"python_requires {parser.get('options', 'python_requires')}")
    return out


# --- Procfile ------------------------------------------------------------------------------


def read_procfile(root: Path) -> Manifest | None:
    path = root / "Procfile"
    if not path.is_file():
        return None
    out = Manifest(kind="procfile", file="Procfile")
    for number, raw in enumerate(_text(path, root, "Procfile").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        process, sep, command = line.partition(":")
        if not sep:
            raise ManifestError(f"Procfile line {number}: expected 'name: command'")
        out.commands[process.strip()] = command.strip()
    web = out.commands.get("web")
    if web:
        found = web_server_target(web)
        if found:
            out.entrypoint, out.entry_kind = found
            out.entry_source = "Procfile web"
            out.flavor = "uvicorn" if out.entry_kind == "asgi" else "gunicorn"
    return out


def web_server_target(command: str) -> tuple[str, str] | None:
    """`uvicorn app:app ...` -> ('app:app', 'asgi'); `gunicorn app:app` -> wsgi."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words:
        return None
    if words[:2] in (["python", "-m"], ["python3", "-m"]):
        words = words[2:]
    server = Path(words[0]).name if words else ""
    if server not in {"uvicorn", "gunicorn", "hypercorn", "waitress-serve", "daphne"}:
        return None
    kind = "asgi" if server in {"uvicorn", "hypercorn", "daphne"} else "wsgi"
    takes_value = {
        "-k",
        "--worker-class",
        "-w",
        "--workers",
        "-b",
        "--bind",
        "--host",
        "--port",
        "--app-dir",
        "-c",
        "--config",
        "--log-level",
        "--timeout",
        "--threads",
    }
    skip = False
    target = None
    for index, word in enumerate(words[1:], start=1):
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            worker = words[index + 1].lower() if index + 1 < len(words) else ""
            if word in {"-k", "--worker-class"} and "uvicorn" in worker:
                kind = "asgi"
            if "=" not in word and word in takes_value:
                skip = True
            continue
        if re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", word):
            target = word
            break
    return (target, kind) if target else None


# --- Pipfile -------------------------------------------------------------------------------


def read_pipfile(root: Path) -> Manifest | None:
    path = root / "Pipfile"
    if not path.is_file():
        return None
    data = _toml(path, root)
    out = Manifest(kind="pipfile", file="Pipfile")
    items: list[str] = []
    for name, spec in _mapping(data.get("packages"), "Pipfile [packages]").items():
        if isinstance(spec, str):
            items.append(name if spec.strip() == "*" else f"{name}{spec.strip()}")
        elif isinstance(spec, dict):
            extras = spec.get("extras") or []
            extra = f"[{','.join(map(str, extras))}]" if extras else ""
            version = str(spec.get("version") or "").strip()
            if spec.get("git") or spec.get("path") or spec.get("file"):
                out.dependencies.other_names.add(normalise_name(name))
                out.notes.append(f"Pipfile: {name} comes from a VCS or path; not installed by name")
                continue
            items.append(f"{name}{extra}{'' if version in ('', '*') else version}")
        else:
            raise ManifestError(f"Pipfile [packages] {name}: expected a version string or table")
    deps = _requirements_list(items, "Pipfile [packages]", root)
    deps.other_names |= out.dependencies.other_names
    out.dependencies = deps
    requires = _mapping(data.get("requires"), "Pipfile [requires]")
    out.python_version = _python_version(requires.get("python_version"))
    return out


# --- Dockerfile (last resort) --------------------------------------------------------------

_PIP_INSTALL = re.compile(r"(?:^|&&|;|\|\|)\s*(?:python3?\s+-m\s+pip|pip3?|uv\s+pip)\s+install\s+")


def read_dockerfile(root: Path) -> Manifest | None:
    path = root / "Dockerfile"
    if not path.is_file():
        return None
    text = _text(path, root, "Dockerfile")
    out = Manifest(kind="dockerfile", file="Dockerfile")
    joined = re.sub(r"\\\r?\n", " ", text)
    items: list[str] = []
    for line in joined.splitlines():
        stripped = line.strip()
        head = stripped.split(None, 1)
        if not head:
            continue
        instruction = head[0].upper()
        rest = head[1] if len(head) > 1 else ""
        if instruction == "FROM" and out.python_version is None:
            match = re.search(r"python:(3\.\d+)", rest)
            out.python_version = match.group(1) if match else None
        if instruction != "RUN":
            continue
        for segment in re.split(r"&&|;|\|\|", rest):
            segment = segment.strip()
            if re.match(r"(?:apt-get|apt)\s+(?:-\S+\s+)*install", segment):
                words = segment.split()[2:]
                out.system_packages.extend(w for w in words if not w.startswith("-"))
                continue
            match = _PIP_INSTALL.search(segment)
            if not match:
                continue
            items.extend(_pip_args(segment[match.end() :], root, out))
    out.dependencies.extend(_requirements_list(items, "Dockerfile RUN pip install", root))
    return out


def _pip_args(args: str, root: Path, out: Manifest) -> list[str]:
    try:
        words = shlex.split(args)
    except ValueError:
        return []
    found: list[str] = []
    skip_next = False
    for index, word in enumerate(words):
        if skip_next:
            skip_next = False
            continue
        if word in {"-r", "--requirement"} and index + 1 < len(words):
            skip_next = True
            target = (root / words[index + 1]).resolve()
            if target.is_relative_to(root) and target.is_file():
                out.dependencies.extend(parse_requirements_file(target, root))
            continue
        if word.startswith("-"):
            if word in {
                "-i",
                "--index-url",
                "--extra-index-url",
                "-f",
                "--find-links",
                "-c",
                "--target",
                "-t",
                "--prefix",
                "--root",
            }:
                skip_next = True
            continue
        if word in {".", "./"} or word.startswith(("./", "/", "$")):
            continue  # the project itself or a path in the image
        found.append(word)
    return found


READERS: tuple[Callable[[Path], Manifest | None], ...] = (
    read_cog,
    read_truss,
    read_bentofile,
    read_langgraph,
    read_mlproject,
    read_procfile,
    read_setup_py,
    read_setup_cfg,
    read_pipfile,
    read_dockerfile,
)
"""In precedence order: the first that names an entry point is the author's word."""


def read_manifests(root: Path) -> list[Manifest]:
    """Every manifest the solution has, in precedence order."""
    root = root.resolve()
    found = []
    for reader in READERS:
        try:
            manifest = reader(root)
        except RequirementsError as exc:
            raise ManifestError(exc.message, hint=exc.hint) from None
        if manifest is not None:
            found.append(manifest)
    return found
