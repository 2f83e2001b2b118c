"""The SDK layer: Modal's errors in one line, Modal's progress kept off stdout."""

from __future__ import annotations

import sys
from pathlib import Path

import grpclib.exceptions
import modal.exception
import pytest
from rich.console import Console

from deployer_modal import sdk


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            modal.exception.AuthError("Token missing."),
            "Modal rejected the credentials: Token missing.",
        ),
        (modal.exception.PermissionDeniedError("no"), "Modal denied permission: no"),
        (
            modal.exception.ConnectionError("Could not connect to the Modal server."),
            "cannot reach Modal's API: Could not connect to the Modal server. (ConnectionError)",
        ),
        (
            grpclib.exceptions.StreamTerminatedError("Connection lost"),
            "cannot reach Modal's API: Connection lost (StreamTerminatedError)",
        ),
        (
            modal.exception.NotFoundError("App 'x' not found\nmore detail"),
            "Modal NotFoundError: App 'x' not found",
        ),
        (ValueError("plain"), "ValueError: plain"),
    ],
)
def test_modal_errors_in_one_line(error: BaseException, line: str) -> None:
    assert sdk.describe(error) == line


def test_error_kinds() -> None:
    assert sdk.is_auth_error(modal.exception.AuthError("x"))
    assert not sdk.is_auth_error(modal.exception.NotFoundError("x"))
    assert sdk.is_modal_error(modal.exception.InvalidError("x"))
    assert sdk.is_modal_error(OSError("network down"))
    assert not sdk.is_modal_error(KeyError("text"))


def test_progress_goes_to_stderr_and_the_deploy_log(tmp_path: Path, capsys) -> None:
    log = tmp_path / "runtime" / "deploy.log"
    with sdk.progress_output(log):
        Console().print("Building image im-123")  # how Modal's output manager prints
        print("Created function run.")
    captured = capsys.readouterr()
    assert captured.out == ""  # stdout stays clean for --json output
    assert "Building image im-123" in captured.err and "Created function run." in captured.err
    assert log.read_text().splitlines() == ["Building image im-123", "Created function run."]
    assert sdk.last_output_line(log) == "Created function run."
    print("after")
    assert capsys.readouterr().out == "after\n"
    assert sys.stdout is not None


def test_unreachable_names_every_server(monkeypatch, closed_port) -> None:
    monkeypatch.setenv(
        "MODAL_SERVER_URL", f"http://127.0.0.1:{closed_port},https://api.modal.invalid"
    )
    problem = sdk.unreachable()
    assert problem.startswith("cannot reach Modal's API (127.0.0.1:")
    assert "api.modal.invalid: DNS lookup failed" in problem
