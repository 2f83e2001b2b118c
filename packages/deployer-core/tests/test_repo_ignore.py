"""One ignore rule set (pathspec): the built-in defaults, the solution's .gitignore (nested
too), .dockerignore and .deployerignore; secret-looking files and symlinks that lead out are
never shipped unless named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from deployer.repo.digest import scan_repository
from deployer.repo.ignore import IgnoreRules, copy_solution, looks_secret
from deployer.testing import tree_hash


def make(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def copied(source: Path, tmp_path: Path, include: tuple[str, ...] = ()) -> set[str]:
    dest = tmp_path / "copy"
    copy_solution(source, dest, include)
    return {p.relative_to(dest).as_posix() for p in dest.rglob("*") if not p.is_dir()}


def test_defaults_leave_out_vcs_caches_and_any_virtualenv(tmp_path: Path) -> None:
    root = make(
        tmp_path / "sol",
        {
            "main.py": "x = 1\n",
            ".git/HEAD": "ref\n",
            "__pycache__/main.cpython-311.pyc": "",
            "pkg/__pycache__/a.pyc": "",
            "node_modules/x/index.js": "",
            "my-env/pyvenv.cfg": "home = /usr\n",
            "my-env/lib/site.py": "",
            "pkg/mod.py": "",
        },
    )
    assert copied(root, tmp_path) == {"main.py", "pkg/mod.py"}


@pytest.mark.parametrize("source", [".gitignore", ".dockerignore", ".deployerignore"])
def test_each_ignore_file_of_the_solution_is_honoured(tmp_path: Path, source: str) -> None:
    root = make(
        tmp_path / "sol",
        {source: "weights/\n*.ckpt\n", "main.py": "", "weights/big.bin": "x", "m.ckpt": "x"},
    )
    kept = copied(root, tmp_path)
    assert "main.py" in kept and "weights/big.bin" not in kept and "m.ckpt" not in kept


def test_nested_gitignore_applies_to_its_own_directory(tmp_path: Path) -> None:
    root = make(
        tmp_path / "sol",
        {"data/.gitignore": "*.csv\n", "data/a.csv": "", "data/keep.txt": "", "top.csv": ""},
    )
    kept = copied(root, tmp_path)
    assert "data/a.csv" not in kept and {"data/keep.txt", "top.csv"} <= kept


def test_deployerignore_can_bring_back_what_gitignore_leaves_out(tmp_path: Path) -> None:
    root = make(
        tmp_path / "sol",
        {".gitignore": "*.bin\n", ".deployerignore": "!model.bin\n", "model.bin": "", "x.bin": ""},
    )
    kept = copied(root, tmp_path)
    assert "model.bin" in kept and "x.bin" not in kept and ".deployerignore" not in kept


@pytest.mark.parametrize(
    "name",
    [".env", ".env.production", "prod.env", "server.pem", "tls.key", "id_rsa", "id_ed25519.pub",
     ".netrc", ".pypirc", "credentials.json", "gcp-credentials.json", "service-account-1.json",
     "client_secret_123.json", "cert.p12", "config/.env"],
)  # fmt: skip
def test_secret_looking_files_are_never_copied(tmp_path: Path, name: str) -> None:
    assert looks_secret(name)
    root = make(tmp_path / "sol", {"main.py": "", name: "TOKEN=abc\n"})
    dest = tmp_path / "copy"
    report = copy_solution(root, dest)
    assert not (dest / name).exists() and (dest / "main.py").exists()
    assert report.secrets == [name]
    assert any(name in note and "--include" in note for note in report.notes())


@pytest.mark.parametrize("name", [".env.example", "secrets.py", "keys.py", "README.md"])
def test_ordinary_files_are_not_taken_for_secrets(name: str) -> None:
    assert not looks_secret(name)


def test_include_ships_a_named_secret_and_an_ignored_file(tmp_path: Path) -> None:
    root = make(tmp_path / "sol", {".gitignore": "*.bin\n", ".env": "A=1\n", "w.bin": ""})
    assert {".env", "w.bin"} <= copied(root, tmp_path, include=(".env", "w.bin"))


def test_symlinks_inside_are_kept_and_outside_ones_refused(tmp_path: Path) -> None:
    outside = make(tmp_path / "outside", {"secret.txt": "host data\n"})
    root = make(tmp_path / "sol", {"main.py": "", "data/real.txt": "ok\n"})
    os.symlink("data/real.txt", root / "inside-link.txt")
    os.symlink(outside / "secret.txt", root / "leak.txt")
    os.symlink(outside, root / "leakdir")
    dest = tmp_path / "copy"
    report = copy_solution(root, dest)
    assert (dest / "inside-link.txt").is_symlink()
    assert (dest / "inside-link.txt").read_text() == "ok\n"
    assert not (dest / "leak.txt").exists() and not (dest / "leakdir").exists()
    assert sorted(report.outside_symlinks) == ["leak.txt", "leakdir"]


def test_the_selector_scan_uses_the_same_rules(tmp_path: Path) -> None:
    root = make(
        tmp_path / "sol",
        {
            ".gitignore": "notebooks/\n",
            "main.py": "import torch\n",
            "notebooks/x.py": "import jax\n",
        },
    )
    digest = scan_repository(root)
    assert "main.py" in digest.files and not any(f.startswith("notebooks") for f in digest.files)
    assert "torch" in digest.imports and "jax" not in digest.imports


def test_rules_answer_for_single_paths(tmp_path: Path) -> None:
    root = make(tmp_path / "sol", {".dockerignore": "tests/\n"})
    rules = IgnoreRules(root)
    assert rules.ignored("tests", is_dir=True) and rules.ignored(".git", is_dir=True)
    assert not rules.ignored("src", is_dir=True)
    assert rules.secret(".env") and not IgnoreRules(root, include=[".env"]).secret(".env")


def test_deploy_says_what_it_left_out_and_never_touches_the_source(tmp_path, monkeypatch):
    from deployer.cli.main import main

    monkeypatch.setenv("DEPLOYER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DEPLOYER_STRATEGIES", "local")
    root = make(
        tmp_path / "sol",
        {"main.py": "def predict(name):\n    return {'hi': name}\n", ".env": "API_KEY=s3cr3t\n"},
    )
    before = tree_hash(root)
    runner = CliRunner()
    done = runner.invoke(
        main,
        ["deploy", str(root), "--strategy", "local", "--option", "mode=inprocess", "--name", "ig"],
    )
    try:
        assert done.exit_code == 0, done.output
        assert "note: left out files that look like secrets: .env" in done.output
        shown = runner.invoke(main, ["ls", "--json"])
        assert '"left_out"' in shown.output
    finally:
        runner.invoke(main, ["rm", "ig", "--force"])
    assert tree_hash(root) == before
