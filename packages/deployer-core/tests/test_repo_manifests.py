"""repo.manifests: the author's own manifests, read for what they state."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deployer.repo import manifests as m
from deployer.repo.project import (
    PRETEND_VERSION_ENV,
    project_install,
    solution_dependencies,
)

PUBLISHED = Path(__file__).resolve().parents[3] / "examples" / "published"


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_cog_predict_style_fixture() -> None:
    cog = m.read_cog(PUBLISHED / "cog_predictor")
    assert cog.entrypoint == "predict:Predictor" and cog.entry_source == "cog.yaml predict"
    assert cog.python_version == "3.11" and cog.dependencies.names == {"cog"}


def test_cog_run_style_and_build_fields(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "numpy\n")
    write(
        tmp_path,
        "cog.yaml",
        "build:\n  gpu: true\n  python_version: '3.12'\n  python_packages: ['torch==2.3']\n"
        "  python_requirements: requirements.txt\n  system_packages: [ffmpeg]\n"
        "  run: ['echo hi']\nrun: 'run.py:Runner'\n",
    )
    cog = m.read_cog(tmp_path)
    assert cog.entrypoint == "run:Runner" and cog.entry_source == "cog.yaml run"
    assert cog.gpu == "1" and cog.python_version == "3.12"
    assert cog.dependencies.lines == ["torch==2.3", "numpy"]
    assert cog.system_packages == ["ffmpeg"] and cog.commands == {"run 1": "echo hi"}


def test_truss_defaults_and_fields(tmp_path: Path) -> None:
    write(tmp_path, "model/model.py", "class Model:\n    def predict(self, x):\n        return x\n")
    write(
        tmp_path,
        "config.yaml",
        "model_name: m\nrequirements: [transformers]\npython_version: py310\n"
        "resources: {accelerator: A10G, cpu: '4', memory: 16Gi}\n"
        "secrets: {hf_access_token: null}\nenvironment_variables: {MODE: prod}\n"
        "system_packages: [tesseract-ocr]\n",
    )
    truss = m.read_truss(tmp_path)
    assert truss.entrypoint == "model.model:Model"
    assert truss.gpu == "A10G" and truss.cpu == "4" and truss.memory == "16Gi"
    assert truss.secrets == ["hf_access_token"] and truss.env_names == ["MODE"]
    assert truss.python_version == "3.10" and truss.dependencies.names == {"transformers"}
    assert truss.system_packages == ["tesseract-ocr"]


def test_truss_custom_class_and_use_gpu(tmp_path: Path) -> None:
    write(
        tmp_path,
        "config.yaml",
        "model_module_dir: src\nmodel_class_filename: serve.py\nmodel_class_name: Server\n"
        "resources: {use_gpu: true}\nrequirements_file: reqs.txt\n",
    )
    write(tmp_path, "reqs.txt", "pillow\n")
    truss = m.read_truss(tmp_path)
    assert truss.entrypoint == "src.serve:Server" and truss.gpu == "1"
    assert truss.dependencies.lines == ["pillow"]


def test_unrelated_config_yaml_is_not_truss(tmp_path: Path) -> None:
    write(tmp_path, "config.yaml", "database: {host: localhost}\n")
    assert m.read_truss(tmp_path) is None


def test_bentofile_and_pyproject_build(tmp_path: Path) -> None:
    bento = m.read_bentofile(PUBLISHED / "bentoml_service")
    assert bento.entrypoint == "service:Summarization"
    assert bento.entry_source == "bentofile.yaml service"
    write(tmp_path, "requirements.txt", "scikit-learn\n")
    write(
        tmp_path,
        "bentofile.yaml",
        "service: 'service:svc'\npython:\n  requirements_txt: ./requirements.txt\n"
        "envs:\n  - name: HF_TOKEN\n  - name: MODE\n    value: prod\n"
        "docker:\n  python_version: '3.11'\n  system_packages: [git]\n",
    )
    bento = m.read_bentofile(tmp_path)
    assert bento.dependencies.lines == ["scikit-learn"]
    assert bento.env_names == ["HF_TOKEN", "MODE"] and bento.system_packages == ["git"]
    other = tmp_path / "pp"
    write(other, "pyproject.toml", '[tool.bentoml.build]\nservice = "service:Summarization"\n')
    from_pyproject = m.read_bentofile(other)
    assert from_pyproject.entrypoint == "service:Summarization"
    assert from_pyproject.entry_source == "pyproject.toml [tool.bentoml.build] service"


def test_langgraph_json(tmp_path: Path) -> None:
    graph = m.read_langgraph(PUBLISHED / "langgraph_graph")
    assert graph.entrypoint == "agent:graph" and graph.entry_source == "langgraph.json graphs.agent"
    assert graph.env_file == ".env" and graph.python_version == "3.11"
    write(tmp_path, "my_agent/requirements.txt", "langchain-openai\n")
    write(
        tmp_path,
        "langgraph.json",
        '{"dependencies": ["./my_agent", "httpx>=0.27"], '
        '"graphs": {"a": "./my_agent/agent.py:graph",'
        ' "b": "my_agent.other:make_graph"}, "env": {"OPENAI_API_KEY": "sk-secret"}}',
    )
    graph = m.read_langgraph(tmp_path)
    assert graph.entrypoint is None
    assert graph.entries == {"a": "my_agent.agent:graph", "b": "my_agent.other:make_graph"}
    assert graph.dependencies.lines == ["langchain-openai", "httpx>=0.27"]
    assert graph.env_names == ["OPENAI_API_KEY"]
    assert "sk-secret" not in repr(graph)


def test_mlproject_with_python_env_and_conda(tmp_path: Path) -> None:
    ml = m.read_mlproject(PUBLISHED / "mlflow_model")
    assert ml.commands == {"main": "python log_model.py --threshold {threshold}"}
    assert ml.dependencies.names == {"mlflow-skinny", "pandas"} and ml.python_version == "3.11"
    write(
        tmp_path,
        "MLproject",
        "name: x\nconda_env: conda.yaml\nentry_points:\n  main:\n    command: python t.py\n",
    )
    write(
        tmp_path,
        "conda.yaml",
        "name: x\nchannels: [conda-forge]\ndependencies:\n"
        "  - python=3.10\n  - numpy=1.26\n  - pip\n"
        "  - pip:\n    - mlflow\n    - cloudpickle==2.2\n",
    )
    ml = m.read_mlproject(tmp_path)
    assert ml.python_version == "3.10"
    assert ml.dependencies.lines == ["mlflow", "cloudpickle==2.2"]
    assert "numpy" in ml.dependencies.names


def test_setup_py_read_statically_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    write(
        tmp_path,
        "setup.py",
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\n"
        "from setuptools import setup\nBASE = ['requests>=2']\nEXTRA = ['rich']\n"
        "setup(name='x', install_requires=BASE + EXTRA + ['click'], python_requires='>=3.9')\n",
    )
    setup = m.read_setup_py(tmp_path)
    assert setup.dependencies.lines == ["requests>=2", "rich", "click"]
    assert not marker.exists()
    assert "python_requires >=3.9" in setup.notes


def test_setup_py_computed_and_broken(tmp_path: Path) -> None:
    write(
        tmp_path,
        "setup.py",
        "import setuptools\nsetuptools.setup(install_requires=open('r').read().split())\n",
    )
    setup = m.read_setup_py(tmp_path)
    assert setup.dependencies.empty and "computes install_requires" in setup.notes[0]
    write(tmp_path, "setup.py", "setup(\n")
    with pytest.raises(m.ManifestError, match=r"setup.py has a syntax error at line \d"):
        m.read_setup_py(tmp_path)


def test_setup_cfg(tmp_path: Path) -> None:
    write(
        tmp_path,
        "setup.cfg",
        "[options]\ninstall_requires =\n    requests>=2\n    pyyaml\npython_requires = >=3.10\n",
    )
    cfg = m.read_setup_cfg(tmp_path)
    assert cfg.dependencies.lines == ["requests>=2", "pyyaml"]
    write(tmp_path, "setup.cfg", "not an ini [\n")
    with pytest.raises(m.ManifestError, match="setup.cfg is not a valid INI file"):
        m.read_setup_cfg(tmp_path)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("uvicorn main:app --host 0.0.0.0 --port $PORT", ("main:app", "asgi")),
        ("gunicorn app:app", ("app:app", "wsgi")),
        (
            "gunicorn -w 2 -k uvicorn.workers.UvicornWorker api.server:app",
            ("api.server:app", "asgi"),
        ),
        ("python -m uvicorn svc:api", ("svc:api", "asgi")),
        ("gunicorn --bind 0.0.0.0:$PORT wsgi:application", ("wsgi:application", "wsgi")),
        ("python app.py", None),
        ("gunicorn 'unterminated", None),
    ],
)
def test_web_server_target(command: str, expected: tuple[str, str] | None) -> None:
    assert m.web_server_target(command) == expected


def test_procfile(tmp_path: Path) -> None:
    proc = m.read_procfile(PUBLISHED / "fastapi_app")
    assert proc.entrypoint == "main:app" and proc.entry_kind == "asgi"
    assert proc.entry_source == "Procfile web"
    write(tmp_path, "Procfile", "worker python w.py\n")
    with pytest.raises(m.ManifestError, match="Procfile line 1"):
        m.read_procfile(tmp_path)


def test_pipfile(tmp_path: Path) -> None:
    write(
        tmp_path,
        "Pipfile",
        '[packages]\nrequests = "*"\nflask = "==3.0"\n'
        'uvicorn = {version = ">=0.30", extras = ["standard"]}\n'
        'mylib = {git = "https://github.com/o/mylib.git"}\n[requires]\npython_version = "3.11"\n',
    )
    pip = m.read_pipfile(tmp_path)
    assert pip.dependencies.lines == ["requests", "flask==3.0", "uvicorn[standard]>=0.30"]
    assert "mylib" in pip.dependencies.names and pip.python_version == "3.11"


def test_dockerfile_last_resort(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "numpy\n")
    write(
        tmp_path,
        "Dockerfile",
        "FROM python:3.11-slim\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends git \\\n"
        "    curl\nCOPY . .\nRUN pip install --no-cache-dir -r requirements.txt && \\\n"
        "    python -m pip install 'fastapi>=0.100' uvicorn .\n",
    )
    docker = m.read_dockerfile(tmp_path)
    assert docker.python_version == "3.11"
    assert docker.system_packages == ["git", "curl"]
    assert docker.dependencies.lines == ["numpy", "fastapi>=0.100", "uvicorn"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("cog.yaml", "build: [\n", "cog.yaml is not valid YAML at line"),
        ("cog.yaml", "- a\n- b\n", "must be a mapping"),
        ("cog.yaml", "predict: predict.py\n", "cog.yaml predict must look like 'file.py:Name'"),
        ("cog.yaml", "build: {python_packages: [1, {a: b}]}\n", "python_packages must be a list"),
        ("cog.yaml", "build: {python_requirements: ../../etc/passwd}\n", "outside the solution"),
        ("langgraph.json", '{"graphs": ', "langgraph.json is not valid JSON at line 1"),
        ("langgraph.json", '{"graphs": {"a": "nocolon"}}', "graphs.a must look like"),
        ("bentofile.yaml", "service: 'svc'\n", "bentofile.yaml service must look like"),
        ("Pipfile", "[packages\n", "Pipfile is not valid TOML"),
        ("MLproject", "python_env: /etc/hostname\n", "outside the solution"),
    ],
)
def test_malformed_manifests_are_one_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    write(tmp_path, name, text)
    with pytest.raises(m.ManifestError) as info:
        m.read_manifests(tmp_path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_binary_manifest_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_bytes(b"\x00\x01binary")
    with pytest.raises(m.ManifestError, match="cog.yaml is a binary file"):
        m.read_manifests(tmp_path)


def test_read_manifests_orders_by_precedence(tmp_path: Path) -> None:
    write(tmp_path, "Procfile", "web: uvicorn main:app\n")
    write(tmp_path, "cog.yaml", "predict: predict.py:Predictor\n")
    assert [x.kind for x in m.read_manifests(tmp_path)] == ["cog", "procfile"]
    assert m.read_manifests(tmp_path)[0].entrypoint == "predict:Predictor"


def test_path_to_module_and_split_reference() -> None:
    assert m.path_to_module("./src/agent/graph.py") == "src.agent.graph"
    assert m.path_to_module("pkg/__init__.py") == "pkg"
    assert m.split_reference("service:Svc", "x") == ("service", "Svc")
    with pytest.raises(m.ManifestError):
        m.split_reference("a:b:c", "x")


# --- installable projects --------------------------------------------------------------------


def test_src_layout_fixture_is_installable_with_a_git_version() -> None:
    project = project_install(PUBLISHED / "src_layout_pkg")
    assert project.installable and project.git_version
    assert project.env == {PRETEND_VERSION_ENV: "0.0.0"}
    assert project.instruction() == (
        "install the project itself (`pip install .`) with env SETUPTOOLS_SCM_PRETEND_VERSION=0.0.0"
    )


@pytest.mark.parametrize(
    ("files", "installable", "git"),
    [
        ({}, False, False),
        ({"requirements.txt": "x\n"}, False, False),
        ({"setup.py": "from setuptools import setup\nsetup(use_scm_version=True)\n"}, True, True),
        ({"setup.cfg": "[metadata]\nname = x\n"}, True, False),
        ({"pyproject.toml": '[project]\nname = "x"\nversion = "1"\n'}, True, False),
        ({"pyproject.toml": '[tool.deployer]\nentrypoint = "a:b"\n'}, False, False),
        (
            {
                "pyproject.toml": '[build-system]\nrequires = ["setuptools", "setuptools-scm"]\n'
                '[project]\nname = "x"\ndynamic = ["version"]\n'
            },
            True,
            True,
        ),
        (
            {
                "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'
                '[project]\nname = "x"\n'
                'dynamic = ["version"]\n[tool.setuptools_scm]\n'
            },
            True,
            True,
        ),
        (
            {
                "pyproject.toml": '[build-system]\nrequires = ["hatchling"]\n'
                '[project]\nname = "x"\n'
                'dynamic = ["version"]\n[tool.hatch.version]\npath = "x/__init__.py"\n'
            },
            True,
            False,
        ),
    ],
)
def test_project_install(
    tmp_path: Path, files: dict[str, str], installable: bool, git: bool
) -> None:
    for name, text in files.items():
        write(tmp_path, name, text)
    project = project_install(tmp_path)
    assert (project.installable, project.git_version) == (installable, git)
    assert bool(project.env) == git


def test_solution_dependencies_combines_manifests() -> None:
    cog = solution_dependencies(PUBLISHED / "cog_deps")
    assert cog.requirements.lines == ["cog>=0.10", "python-slugify==8.0.4"]
    assert cog.system_packages == ["libgomp1"] and cog.python_version == "3.11"
    assert cog.steps == []
    setup = solution_dependencies(PUBLISHED / "setup_py_deps")
    assert setup.requirements.lines == []  # installed by `pip install .`
    assert "python-slugify" in setup.requirements.names
    assert setup.steps == ["install the project itself (`pip install .`)"]
    src = solution_dependencies(PUBLISHED / "src_layout_pkg")
    assert src.steps == [
        "install the project itself (`pip install .`) with env SETUPTOOLS_SCM_PRETEND_VERSION=0.0.0"
    ]


def test_dockerfile_is_ignored_when_requirements_exist(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "httpx\n")
    write(tmp_path, "Dockerfile", "FROM python:3.11\nRUN pip install flask\n")
    assert solution_dependencies(tmp_path).requirements.lines == ["httpx"]
    (tmp_path / "requirements.txt").unlink()
    assert solution_dependencies(tmp_path).requirements.lines == ["flask"]


def _pip_install(source: Path, target: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != PRETEND_VERSION_ENV}
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         str(source)],
        capture_output=True, text=True, timeout=600, env={**clean, **env},
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["hatch-vcs", "setuptools-scm"])
def test_git_version_projects_install_from_a_copy_only_with_the_env(
    tmp_path: Path, backend: str
) -> None:
    """Real builds (hatchling + hatch-vcs, setuptools + setuptools-scm) fetched by pip."""
    if importlib.util.find_spec("pip") is None:
        pytest.skip("pip is not installed in this environment")
    source = tmp_path / "copy"
    if backend == "hatch-vcs":
        shutil.copytree(PUBLISHED / "src_layout_pkg", source)
    else:
        write(source, "scmdemo/__init__.py", "def predict(x):\n    return x\n")
        write(
            source,
            "pyproject.toml",
            '[build-system]\nrequires = ["setuptools>=64", "setuptools-scm>=8"]\n'
            'build-backend = "setuptools.build_meta"\n'
            '[project]\nname = "scmdemo"\ndynamic = ["version"]\n[tool.setuptools_scm]\n',
        )
    project = project_install(source)
    assert project.git_version
    without = _pip_install(source, tmp_path / "without", {})
    if "Could not find a version that satisfies" in without.stderr:
        pytest.skip(f"the package index cannot provide {backend}'s build requirements")
    assert without.returncode != 0  # no .git, no version: the build fails
    installed = _pip_install(source, tmp_path / "with", project.env)
    assert installed.returncode == 0, installed.stderr[-1500:]
    assert list((tmp_path / "with").glob("*-0.0.0.dist-info"))
