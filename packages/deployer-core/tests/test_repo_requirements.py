"""repo.requirements: one packaging-based reader for requirement files and lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.repo.requirements import (
    RequirementsError,
    RequirementSet,
    display_path,
    normalise_name,
    parse_requirement,
    parse_requirement_strings,
    parse_requirements_file,
    read_pyproject_dependencies,
    read_requirements,
    read_text_file,
    read_toml,
)


def write(root: Path, name: str, text: str | bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Flask_Login", "flask-login"),
        ("ruamel.yaml", "ruamel-yaml"),
        ("PyYAML", "pyyaml"),
        ("a__b--c", "a-b-c"),
    ],
)
def test_normalise_name_is_pep503(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


def test_file_with_comments_continuations_markers_extras_and_hashes(tmp_path: Path) -> None:
    write(
        tmp_path,
        "requirements.txt",
        "# a comment\n"
        'requests>=2 ; python_version >= "3.8"  # trailing comment\n'
        "uvicorn[standard]==0.30 \\\n"
        "    --hash=sha256:abc\n"
        "\n"
        "Flask_Login\n",
    )
    out = parse_requirements_file(tmp_path / "requirements.txt", tmp_path)
    assert out.lines == [
        'requests>=2 ; python_version >= "3.8"',
        "uvicorn[standard]==0.30 --hash=sha256:abc",
        "Flask_Login",
    ]
    assert out.names == {"requests", "uvicorn", "flask-login"}
    assert [r.source for r in out.requirements] == [
        "requirements.txt:2",
        "requirements.txt:3",
        "requirements.txt:6",
    ]


def test_includes_constraints_and_index_options(tmp_path: Path) -> None:
    write(
        tmp_path,
        "requirements.txt",
        "-r reqs/base.txt\n-c constraints.txt\n--index-url https://i/simple\nhttpx\n",
    )
    write(tmp_path, "reqs/base.txt", "--extra-index-url=https://x/simple\npydantic>=2\n")
    write(tmp_path, "constraints.txt", "anyio<5\n")
    out = read_requirements(tmp_path)
    assert out.lines == ["pydantic>=2", "httpx"]
    assert [c.text for c in out.constraints] == ["anyio<5"]
    assert out.index_options == [
        "--extra-index-url=https://x/simple",
        "--index-url https://i/simple",
    ]
    assert out.files == ["requirements.txt", "reqs/base.txt", "constraints.txt"]
    assert out.text(with_index_options=False) == "pydantic>=2\nhttpx\n"
    assert out.text().startswith("--extra-index-url")


@pytest.mark.parametrize("option", ["-r", "-c", "--requirement", "--constraint"])
def test_include_outside_the_root_is_refused_without_reading_it(
    tmp_path: Path, option: str
) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("TOPSECRET-VALUE\n", encoding="utf-8")
    root = tmp_path / "solution"
    write(root, "requirements.txt", f"{option} ../secret.txt\n")
    with pytest.raises(RequirementsError) as info:
        read_requirements(root)
    assert "outside the solution" in str(info.value)
    assert "TOPSECRET" not in str(info.value)
    assert "\n" not in str(info.value)


def test_absolute_include_of_a_host_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "-r /etc/passwd\n")
    with pytest.raises(RequirementsError) as info:
        read_requirements(tmp_path)
    assert "'/etc/passwd' points outside the solution" in str(info.value)
    assert "root:" not in str(info.value)


def test_symlinked_include_leaving_the_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("leaked\n", encoding="utf-8")
    root = tmp_path / "solution"
    root.mkdir()
    (root / "more.txt").symlink_to(tmp_path / "outside.txt")
    write(root, "requirements.txt", "-r more.txt\n")
    with pytest.raises(RequirementsError, match="outside the solution"):
        read_requirements(root)


def test_include_loop_and_missing_include(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "-r b.txt\n")
    write(tmp_path, "b.txt", "-r a.txt\n")
    with pytest.raises(RequirementsError, match="loop"):
        parse_requirements_file(tmp_path / "a.txt", tmp_path)
    write(tmp_path, "c.txt", "-r nothere.txt\n")
    with pytest.raises(RequirementsError, match="no such file"):
        parse_requirements_file(tmp_path / "c.txt", tmp_path)
    write(tmp_path, "d.txt", "-r https://example.com/r.txt\n")
    with pytest.raises(RequirementsError, match="is a URL"):
        parse_requirements_file(tmp_path / "d.txt", tmp_path)


def test_local_paths_editables_and_vcs(tmp_path: Path) -> None:
    (tmp_path / "libs" / "util").mkdir(parents=True)
    write(
        tmp_path,
        "requirements.txt",
        "-e .\n./libs/util\ngit+https://github.com/org/tool.git@v1#egg=Tool_X\n"
        "pkg @ https://example.com/pkg-1.0-py3-none-any.whl\n"
        "https://example.com/wheels/Other_Pkg-2.0-py3-none-any.whl\n",
    )
    out = read_requirements(tmp_path)
    assert out.local_paths == [".", "libs/util"]
    assert out.lines[:2] == ["-e .", "./libs/util"]
    assert out.requirements[0].editable
    vcs = out.requirements[2]
    assert vcs.name == "tool-x" and vcs.url.startswith("git+https://")
    assert out.requirements[3].name == "pkg" and out.requirements[3].url.endswith(".whl")
    assert out.requirements[4].name == "other-pkg"


def test_local_path_outside_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "solution"
    write(root, "requirements.txt", "../elsewhere\n")
    with pytest.raises(RequirementsError, match="outside the solution"):
        read_requirements(root)


def test_included_local_path_is_rewritten_relative_to_the_root(tmp_path: Path) -> None:
    (tmp_path / "sub" / "pkg").mkdir(parents=True)
    write(tmp_path, "requirements.txt", "-r sub/more.txt\n")
    write(tmp_path, "sub/more.txt", "./pkg\n")
    assert read_requirements(tmp_path).lines == ["./sub/pkg"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\x00\x01\x02binary", "binary file"), (b"\xff\xfe\xfa not utf8", "not UTF-8")],
)
def test_binary_or_undecodable_file_is_one_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    write(tmp_path, "requirements.txt", content)
    with pytest.raises(RequirementsError) as info:
        read_requirements(tmp_path)
    assert message in str(info.value) and "requirements.txt" in str(info.value)
    assert "\n" not in str(info.value)


def test_invalid_requirement_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "ok\nnot a requirement!!\n")
    with pytest.raises(RequirementsError) as info:
        read_requirements(tmp_path)
    assert str(info.value).startswith("requirements.txt:2: 'not a requirement!!'")
    assert "\n" not in str(info.value)


def test_unsupported_pip_option_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "--use-feature=fast\n")
    with pytest.raises(RequirementsError, match="--use-feature"):
        read_requirements(tmp_path)


def test_pyproject_dependencies_optional_and_poetry(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "x"\ndependencies = ["Requests>=2", "numpy; python_version>\'3.9\'"]\n'
        '[project.optional-dependencies]\ndev = ["pytest>=8"]\n'
        '[tool.poetry.dependencies]\npython = "^3.11"\nRich = "^13"\n',
    )
    out = read_pyproject_dependencies(tmp_path)
    assert out.lines == ["Requests>=2", "numpy; python_version>'3.9'"]
    assert [r.text for r in out.optional["dev"]] == ["pytest>=8"]
    assert out.names == {"requests", "numpy", "rich"}
    assert out.requirements[0].source == "pyproject.toml [project] dependencies"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[project\n", "not valid TOML"),
        ('[project]\ndependencies = "x"\n', "list of strings"),
        ('[project]\ndependencies = ["ok", 3]\n', "list of strings"),
    ],
)
def test_bad_pyproject_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, "pyproject.toml", text)
    with pytest.raises(RequirementsError) as info:
        read_pyproject_dependencies(tmp_path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_requirement_strings_from_a_manifest(tmp_path: Path) -> None:
    out = parse_requirement_strings(
        ["torch==2.1", "# comment", "--extra-index-url https://x"], "cog.yaml", tmp_path
    )
    assert out.lines == ["torch==2.1"] and out.index_options == ["--extra-index-url https://x"]
    with pytest.raises(RequirementsError, match="entry 2 must be a string"):
        parse_requirement_strings(["ok", 3], "cog.yaml build.python_packages")
    with pytest.raises(RequirementsError, match="not allowed"):
        parse_requirement("./local", "somewhere")


def test_set_merging_keeps_order_and_drops_duplicates() -> None:
    first = parse_requirement_strings(["a", "b"], "one")
    second = parse_requirement_strings(["b", "c"], "two")
    first.extend(second)
    assert first.lines == ["a", "b", "c"]
    assert RequirementSet().empty and not first.empty and RequirementSet().text() == ""


def test_helpers(tmp_path: Path) -> None:
    assert display_path(tmp_path / "a" / "b.txt", tmp_path) == "a/b.txt"
    assert display_path(Path("/etc/passwd"), tmp_path) == "passwd"
    write(tmp_path, "x.toml", "a = 1\n")
    assert read_toml(tmp_path / "x.toml", tmp_path) == {"a": 1}
    assert read_text_file(write(tmp_path, "bom.txt", "\ufeffhi".encode()), tmp_path) == "hi"
    assert read_requirements(tmp_path).empty
