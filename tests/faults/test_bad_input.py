"""Bad input through the real CLI (each call its own process): one readable line, a meaningful
exit code, nothing half-written, nothing outside DEPLOYER_HOME touched, no traceback."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from deployer.testing import CliResult, DeployerCli

HELLO = "def predict(name):\n    return {'hi': name}\n"


def solution(root: Path, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for relative, text in (files or {"main.py": HELLO}).items():
        (root / relative).write_text(text)
    return root


def one_line_error(result: CliResult, code: int) -> str:
    assert result.code == code, (result.code, result.out, result.err)
    assert "Traceback" not in result.err and "Traceback" not in result.out
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert (lines and lines[0].startswith("error:")) or lines[0].startswith("Usage:"), lines
    return result.err


@pytest.fixture
def local(cli: DeployerCli) -> DeployerCli:
    cli.env["DEPLOYER_STRATEGIES"] = "local"
    return cli


def test_infinite_nan_and_negative_timeouts_are_refused(local: DeployerCli, tmp_path: Path) -> None:
    root = solution(tmp_path / "sol")
    for flag in ("--run-timeout", "--startup-timeout"):
        for value in ("inf", "nan", "-1", "0"):
            done = local("deploy", str(root), "--strategy", "local", flag, value)
            assert done.code == 2, (flag, value, done.err)
            assert "Traceback" not in done.err
    assert local("ls", "--json").json() == []  # no record was written


def test_bad_env_pairs_names_and_option_values(local: DeployerCli, tmp_path: Path) -> None:
    root = solution(tmp_path / "sol")
    for pair in (" =v", "A B=v", "=v", "novalue"):
        done = local("deploy", str(root), "--strategy", "local", "--env", pair)
        assert "--env" in one_line_error(done, 2)
    for name in ("bad\n", "../../victim", "UPPER", "-x"):
        one_line_error(local("deploy", str(root), "--strategy", "local", "--name", name), 2)
    done = local("deploy", str(root), "--strategy", "local", "--option", "port=99999")
    assert "expected at most 65535" in one_line_error(done, 2)
    done = local("deploy", str(root), "--strategy", "local", "--option", "port=-5")
    assert "expected at least 0" in one_line_error(done, 2)
    assert local("ls", "--json").json() == []


def test_rm_force_of_an_unknown_name_says_so(local: DeployerCli) -> None:
    done = local("rm", "--force", "nosuch")
    assert "no deployment named 'nosuch'" in one_line_error(done, 4)
    assert "removed" not in done.out


def test_nan_infinity_and_deep_nesting_in_inputs(local: DeployerCli, tmp_path: Path) -> None:
    root = solution(tmp_path / "sol", {"main.py": "def predict(x=None):\n    return {'x': x}\n"})
    made = local("deploy", str(root), "--strategy", "local", "--name", "n",
                 "--option", "mode=inprocess")  # fmt: skip
    assert made.code == 0, made.err
    for text in ('{"x": NaN}', '{"x": Infinity}', '{"x": -Infinity}'):
        assert "is not a JSON value" in one_line_error(local("run", "n", text), 2)
    deep = '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert "nested too deeply" in one_line_error(local("run", "n", stdin=deep), 2)


def test_nan_in_an_output_is_an_error_envelope_not_invalid_json(
    local: DeployerCli, tmp_path
) -> None:
    root = solution(tmp_path / "sol", {"main.py": "def predict():\n    return float('nan')\n"})
    for mode in ("inprocess", "process"):
        made = local("deploy", str(root), "--strategy", "local", "--name", f"nan-{mode}",
                     "--option", f"mode={mode}")  # fmt: skip
        assert made.code == 0, made.err
        done = local("run", f"nan-{mode}", "{}")
        assert done.code == 1
        envelope = json.loads(done.out)  # valid JSON on stdout, whatever the output was
        assert envelope["status"] == "error" and "nan" in envelope["error"].lower(), envelope


def test_a_tampered_record_never_deletes_outside_the_home(
    local: DeployerCli, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me\n")
    made = local("deploy", str(solution(tmp_path / "sol")), "--strategy", "local", "--name", "t",
                 "--option", "mode=inprocess")  # fmt: skip
    assert made.code == 0, made.err
    db = sqlite3.connect(local.home / "state.db")
    info = json.loads(db.execute("SELECT info FROM deployments WHERE name='t'").fetchone()[0])
    info["name"] = "../../victim"
    db.execute("UPDATE deployments SET info=? WHERE name='t'", (json.dumps(info),))
    db.commit()
    db.close()
    listing = local("ls")
    assert listing.code == 0 and "record of 't' is unreadable" in listing.err
    assert "Traceback" not in listing.err
    assert "unreadable" in one_line_error(local("rm", "t"), 7)
    assert local("rm", "t", "--force").code == 0
    assert (victim / "precious.txt").read_text() == "keep me\n"
    assert local("ls", "--json").json() == []


def test_a_home_under_a_file_is_one_line_for_every_command(tmp_path: Path) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    cli = DeployerCli(blocker / "home", {"DEPLOYER_STRATEGIES": "local"})
    for args in (("ls",), ("rm", "x"), ("run", "x", "{}"), ("logs", "x"), ("stop", "x"),
                 ("deploy", str(solution(tmp_path / "sol")), "--strategy", "local")):  # fmt: skip
        assert "cannot be created" in one_line_error(cli(*args), 7)


def test_rich_markup_in_user_strings_is_printed_as_it_is(
    local: DeployerCli, tmp_path: Path
) -> None:
    for index, label in enumerate(("[/oops]", "[bold red]x")):
        root = solution(tmp_path / label)
        made = local("deploy", str(root), "--strategy", "local", "--name", f"m{index}",
                     "--option", "mode=inprocess")  # fmt: skip
        assert made.code == 0, made.err
    listing = local("ls")
    assert listing.code == 0, listing.err
    flat = "".join(listing.out.split())
    assert "[/oops]" in flat and "[boldred]x" in flat


def test_python_api_bad_calls_are_deployer_errors(tmp_path, monkeypatch) -> None:
    import deployer
    from deployer.errors import UsageError

    monkeypatch.setenv("DEPLOYER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DEPLOYER_STRATEGIES", "local")
    with pytest.raises(UsageError, match="needs a path or a SolutionResult"):
        deployer.deploy(None)  # type: ignore[arg-type]
    software = deployer.deploy(solution(tmp_path / "sol"), strategy="local", mode="inprocess")
    software.remove()
    after = software.run({"name": "x"})
    assert after["status"] == "error" and "was removed" in after["error"]
    assert "deployer start" not in after["error"]
