"""The serving runtime, run for real: endpoints, validation, outputs, streaming, limits, auth."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from serving_support import (
    SLOW_LOAD_FILES,
    TOKEN,
    inspect_entry,
    make_workspace,
    ndjson,
    serving,
    start,
)

from deployer.runtime.serving_install import install_serving_runtime, serving_runtime_files
from deployer.testing import wait_until

SOLUTION = {
    "solution.py": '''
    import asyncio
    import dataclasses
    import math
    import pathlib
    import time
    from typing import Literal, Optional, TypedDict

    class Point(TypedDict):
        x: int
        y: int

    @dataclasses.dataclass
    class Box:
        width: float
        label: str = "box"

    def predict(text: str, times: int = 1, mode: Literal["upper", "lower"] = "lower",
                tags: Optional[list[str]] = None) -> dict:
        """A typed function."""
        value = text.upper() if mode == "upper" else text.lower()
        return {"text": value * times, "tags": tags or []}

    def shapes(point: Point, box: Box) -> dict:
        return {"sum": point["x"] + point["y"], "box": box, "is_box": isinstance(box, Box)}

    async def apredict(n: int) -> int:
        await asyncio.sleep(0)
        return n * 2

    def tokens(count: int):
        for i in range(count):
            yield f"token-{i}"

    def broken_stream(count: int):
        for i in range(count):
            if i == 2:
                raise RuntimeError("failed half-way")
            yield i

    async def atokens(count: int):
        for i in range(count):
            await asyncio.sleep(0)
            yield i

    def outputs(kind: str):
        if kind == "nan":
            return {"value": [1.0, math.nan]}
        if kind == "object":
            return object()
        if kind == "bytes":
            return b"\\x00\\x01hello"
        if kind == "path":
            path = pathlib.Path("result.txt")
            path.write_text("file contents")
            return path
        if kind == "dataclass":
            return Box(width=2.5)
        if kind == "set":
            return {3}
        if kind == "raise":
            raise ValueError("bad value inside the solution")
        return None

    def sleepy(seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    async def asleepy(seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds

    def takes_dict(inputs: dict) -> dict:
        return {"keys": sorted(inputs)}

    def anything(**kwargs) -> dict:
        return kwargs
    ''',
}


def spec(name: str, **extra: object) -> dict[str, object]:
    return {"entrypoint": f"solution:{name}", **extra}


@pytest.fixture(scope="module")
def typed(tmp_path_factory: pytest.TempPathFactory):
    with serving(tmp_path_factory.mktemp("typed"), SOLUTION, spec("predict")) as served:
        yield served


# ---------------------------------------------------------------- install helper


def test_install_copies_the_package_and_lists_what_it_wrote(tmp_path: Path) -> None:
    written = install_serving_runtime(tmp_path)
    assert written == [f"deployer_runtime/{name}" for name in serving_runtime_files()]
    assert "deployer_runtime/__main__.py" in written
    for relative in written:
        assert (tmp_path / relative).is_file()
    # installing again replaces the copy (a stale file is overwritten)
    (tmp_path / "deployer_runtime/server.py").write_text("broken")
    install_serving_runtime(tmp_path)
    assert "ThreadingHTTPServer" in (tmp_path / "deployer_runtime/server.py").read_text()


def test_install_refuses_a_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "deployer_runtime").write_text("not a package")
    with pytest.raises(FileExistsError):
        install_serving_runtime(tmp_path)


def test_the_copy_loads_core_bytecode_and_a_sync_entry_point_never_loads_asyncio(
    tmp_path: Path,
) -> None:
    """The runtime is copied at every deploy: its server loads core's compiled modules (same
    Python) instead of compiling them again, and asyncio is imported only for async entry
    points and web apps. A copy edited after the install is compiled from its source."""
    import py_compile

    from deployer.runtime import serving

    for name in serving_runtime_files():  # core's bytecode, as pip leaves it at install
        py_compile.compile(str(Path(serving.__file__).with_name(name)), doraise=True)
    install_serving_runtime(tmp_path)
    (tmp_path / "deployer_runtime" / "spec.py").write_text(
        (tmp_path / "deployer_runtime" / "spec.py").read_text() + "\nEDITED = True\n"
    )
    code = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r});"
        "import deployer_runtime.__main__, deployer_runtime.server, deployer_runtime.spec;"
        "print(deployer_runtime.spec.EDITED, 'asyncio' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-B", "-v", "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["True", "False"]
    cache = tmp_path / "deployer_runtime" / "__pycache__"
    loaded = {line.split(cache.name + "/")[-1].split(".")[0] for line in out.stderr.splitlines()
              if line.startswith("# code object from") and str(cache) in line}  # fmt: skip
    assert {"server", "loader", "schema", "__main__"} <= loaded
    assert "spec" not in loaded  # edited after the copy: its source, not core's bytecode


def test_copied_runtime_imports_only_the_standard_library(tmp_path: Path) -> None:
    install_serving_runtime(tmp_path)
    code = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r});"
        "import deployer_runtime.__main__, deployer_runtime.server;"
        "heavy = ('deployer', 'pydantic', 'numpy', 'httpx');"
        "print([m for m in sys.modules if m.split('.')[0] in heavy])"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- endpoints


def test_livez_needs_no_token(typed) -> None:
    response = httpx.get(f"{typed.url}/livez", trust_env=False)
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


def test_readyz_and_health_report_ready(typed) -> None:
    for path in ("/readyz", "/health"):
        answer = typed.client.get(path)
        assert answer.status_code == 200
        assert answer.json()["status"] == "ready"
        assert answer.json()["entrypoint"] == "solution:predict"


def test_schema_is_typed_from_the_signature(typed) -> None:
    schema = typed.client.get("/schema").json()
    assert schema["required"] == ["text"]
    assert schema["properties"]["text"] == {"type": "string"}
    assert schema["properties"]["times"] == {"type": "integer", "default": 1}
    assert schema["properties"]["mode"]["enum"] == ["upper", "lower"]
    tags = schema["properties"]["tags"]["anyOf"]
    assert {"type": "array", "items": {"type": "string"}} in tags
    assert schema["additionalProperties"] is False


def test_run_success_envelope(typed) -> None:
    answer = typed.run({"text": "Ab", "times": 2, "mode": "upper"})
    assert answer.status_code == 200
    assert answer.json() == {"status": "success", "output": {"text": "ABAB", "tags": []}}


@pytest.mark.parametrize(
    ("inputs", "field", "words"),
    [
        ({"text": 3}, "text", "expected str"),
        ({"text": "a", "times": "2"}, "times", "expected int"),
        ({"text": "a", "times": True}, "times", "expected int"),
        ({"text": "a", "mode": "middle"}, "mode", "one of 'upper', 'lower'"),
        ({"text": "a", "tags": ["x", 1]}, "tags[1]", "expected str"),
        ({}, "text", "required field missing"),
        ({"text": "a", "colour": "red"}, "colour", "unknown field"),
    ],
)
def test_validation_errors_name_the_field_and_type(typed, inputs, field, words) -> None:
    answer = typed.run(inputs)
    assert answer.status_code == 422
    body = answer.json()
    assert body["status"] == "error"
    assert body["field"] == field
    assert words in body["error"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object, got an array"),
        (b'"text"', "got a string"),
        (b"", "empty"),
        (b'{"text": NaN}', "NaN is not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_bad_bodies_are_400_envelopes(typed, body, words) -> None:
    answer = typed.client.post("/run", content=body)
    assert answer.status_code == 400
    assert words in answer.json()["error"]


def test_deeply_nested_json_is_a_clean_400(typed) -> None:
    body = b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    answer = typed.client.post("/run", content=body)
    assert answer.status_code == 400
    assert "nested too deeply" in answer.json()["error"]
    assert typed.client.get("/livez").status_code == 200


def test_unknown_path_is_404(typed) -> None:
    assert typed.client.get("/nope").status_code == 404
    assert typed.client.post("/nope", json={}).status_code == 404


def test_metrics_count_requests_by_status(typed) -> None:
    typed.run({"text": "a"})
    typed.run({"text": 1})
    text = typed.client.get("/metrics").text
    assert "# TYPE deployer_requests_total counter" in text
    assert 'deployer_requests_total{path="/run",code="200"}' in text
    assert 'deployer_requests_total{path="/run",code="422"}' in text
    assert 'deployer_request_duration_seconds_bucket{path="/run",code="200",le="+Inf"}' in text
    count = [
        line
        for line in text.splitlines()
        if line.startswith('deployer_request_duration_seconds_count{path="/run",code="200"}')
    ]
    assert int(count[0].split()[-1]) >= 1


def test_access_log_has_status_and_duration(typed) -> None:
    typed.run({"text": "logged"})
    wait_until(lambda: '"POST /run HTTP/1.1" 200 success' in typed.log(), limit=5, interval=0.1)
    lines = typed.log().splitlines()
    line = next(entry for entry in lines if '"POST /run HTTP/1.1" 200 success' in entry)
    assert line.rstrip().endswith("ms")
    assert "logged" not in typed.log()  # bodies are never logged


# ---------------------------------------------------------------- auth and hosts


def test_missing_and_wrong_token_are_401(typed) -> None:
    plain = httpx.Client(base_url=typed.url, trust_env=False)
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}):
        for method, path in (
            ("GET", "/readyz"),
            ("GET", "/schema"),
            ("POST", "/run"),
            ("GET", "/metrics"),
        ):
            answer = plain.request(
                method, path, headers=headers, json={"text": "a"} if method == "POST" else None
            )
            assert answer.status_code == 401, (headers, path)
            assert answer.headers["WWW-Authenticate"] == "Bearer"
            assert answer.json()["status"] == "error"
    plain.close()


def test_foreign_host_and_browser_origin_are_refused(typed) -> None:
    answer = typed.client.post("/run", json={"text": "a"}, headers={"Host": "evil.example:80"})
    assert answer.status_code == 403
    assert "Host" in answer.json()["error"]
    answer = typed.client.post(
        "/run", json={"text": "a"}, headers={"Host": f"localhost:{typed.port}"}
    )
    assert answer.status_code == 200
    answer = typed.client.post(
        "/run",
        content=b'{"text": "a"}',
        headers={"Origin": "http://evil.example", "Content-Type": "text/plain"},
    )
    assert answer.status_code == 403
    assert "Origin" in answer.json()["error"]


def test_allow_host_adds_a_published_address(tmp_path: Path) -> None:
    with serving(
        tmp_path, SOLUTION, spec("predict"), "--allow-host", "deployer.example:8080"
    ) as served:
        assert (
            served.client.post(
                "/run", json={"text": "a"}, headers={"Host": "deployer.example:8080"}
            ).status_code
            == 200
        )
        assert (
            served.client.post(
                "/run", json={"text": "a"}, headers={"Host": "other:8080"}
            ).status_code
            == 403
        )


def test_token_from_the_environment(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, SOLUTION, spec("predict"))
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "deployer_runtime", "serve", "--port-file", str(port_file)],
        cwd=workspace,
        env={**os.environ, "DEPLOYER_RUNTIME_TOKEN": "from-env"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not port_file.exists():
            assert proc.poll() is None
            time.sleep(0.02)
        url = f"http://127.0.0.1:{int(port_file.read_text())}"
        time.sleep(0.2)
        assert (
            httpx.get(
                f"{url}/readyz", headers={"Authorization": "Bearer from-env"}, trust_env=False
            ).status_code
            == 200
        )
        assert (
            httpx.get(
                f"{url}/readyz", headers={"Authorization": f"Bearer {TOKEN}"}, trust_env=False
            ).status_code
            == 401
        )
    finally:
        proc.terminate()
        proc.wait(10)


def _serve_exit(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    workspace = make_workspace(tmp_path, SOLUTION, spec("predict"))
    environment = {k: v for k, v in os.environ.items() if k != "DEPLOYER_RUNTIME_TOKEN"}
    return subprocess.run(
        [sys.executable, "-m", "deployer_runtime", "serve", *args],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=60,
        env={**environment, **(env or {})},
    )


def test_no_token_refuses_to_start(tmp_path: Path) -> None:
    result = _serve_exit(tmp_path)
    assert result.returncode == 2
    assert "no token" in result.stderr


def test_token_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("abc")
    path.chmod(0o644)
    result = _serve_exit(tmp_path, "--token-file", str(path))
    assert result.returncode == 2
    assert "chmod 600" in result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_port_in_use_exits_98(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve_exit(tmp_path, "--port", str(port), env={"DEPLOYER_RUNTIME_TOKEN": "t"})
    assert result.returncode == 98
    assert "already in use" in result.stderr


def test_bind_failure_exits_97(tmp_path: Path) -> None:
    result = _serve_exit(tmp_path, "--host", "203.0.113.7", env={"DEPLOYER_RUNTIME_TOKEN": "t"})
    assert result.returncode == 97
    assert "cannot listen" in result.stderr


def test_out_of_range_port_is_a_usage_error(tmp_path: Path) -> None:
    result = _serve_exit(tmp_path, "--port", "99999", env={"DEPLOYER_RUNTIME_TOKEN": "t"})
    assert result.returncode == 2
    assert "between 0 and 65535" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "0"])
def test_run_timeout_must_be_finite_and_positive(tmp_path: Path, value: str) -> None:
    result = _serve_exit(tmp_path, "--run-timeout", value, env={"DEPLOYER_RUNTIME_TOKEN": "t"})
    assert result.returncode == 2
    assert "finite number above 0" in result.stderr


# ---------------------------------------------------------------- loading


SLOW_LOAD = SLOW_LOAD_FILES


def test_readyz_is_503_loading_while_setup_runs(tmp_path: Path) -> None:
    with serving(
        tmp_path, SLOW_LOAD, {"entrypoint": "slowload:Model", "entry_kind": "class"}, wait=False
    ) as served:
        assert httpx.get(f"{served.url}/livez", trust_env=False).status_code == 200
        answer = served.client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["status"] == "loading"
        call = served.run({"x": 1})
        assert call.status_code == 503
        assert "still loading" in call.json()["error"]
        (served.workspace / "go").write_text("")
        assert served.wait_ready()["status"] == "ready"
        assert served.run({"x": 1}).json() == {"status": "success", "output": 2}


BROKEN = {"broken.py": "import not_a_module_anywhere\n\ndef f():\n    return 1\n"}


def test_import_failure_is_reported_on_readyz(tmp_path: Path) -> None:
    with serving(tmp_path, BROKEN, {"entrypoint": "broken:f"}) as served:
        answer = served.client.get("/readyz")
        assert answer.status_code == 503
        body = answer.json()
        assert body["status"] == "failed"
        assert "No module named 'not_a_module_anywhere'" in body["error"]
        call = served.run({})
        assert call.status_code == 503
        assert "failed to load" in call.json()["error"]


def test_fail_fast_load_exits_3_on_import_failure(tmp_path: Path) -> None:
    served = start(tmp_path, BROKEN, {"entrypoint": "broken:f"}, "--fail-fast-load", wait=False)
    assert served.proc.wait(30) == 3
    assert "ModuleNotFoundError: No module named 'not_a_module_anywhere'" in served.log()
    served.stop()


def test_fail_fast_load_exits_4_when_the_name_is_missing(tmp_path: Path) -> None:
    served = start(
        tmp_path, SOLUTION, {"entrypoint": "solution:nothing_here"}, "--fail-fast-load", wait=False
    )
    assert served.proc.wait(30) == 4
    assert "has no attribute 'nothing_here'" in served.log()
    served.stop()


def test_sys_exit_at_import_is_a_failed_load(tmp_path: Path) -> None:
    files = {"exits.py": "import sys\nsys.exit(5)\n"}
    with serving(tmp_path, files, {"entrypoint": "exits:f"}) as served:
        body = served.client.get("/readyz").json()
        assert body["status"] == "failed"
        assert "SystemExit" in body["error"]


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    served = start(tmp_path, SOLUTION, spec("predict"))
    assert served.stop() == 0
    assert "stopped" in served.log()


# ---------------------------------------------------------------- inspect


def test_inspect_prints_the_interface(tmp_path: Path) -> None:
    result = inspect_entry(tmp_path, SOLUTION, spec("predict"))
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["entry_kind"] == "function"
    assert [p["name"] for p in info["signature"]] == ["text", "times", "mode", "tags"]
    times = info["signature"][1]
    assert times == {
        "name": "times",
        "annotation": "int",
        "required": False,
        "default": 1,
        "description": None,
        "choices": None,
        "ge": None,
        "le": None,
    }
    assert info["signature"][2]["choices"] == ["upper", "lower"]
    assert info["input_schema"]["required"] == ["text"]


def test_inspect_import_failure_exits_3_with_the_root_cause_first(tmp_path: Path) -> None:
    files = {"broken.py": "import helper\n", "helper.py": "import missing_dependency_xyz\n"}
    result = inspect_entry(tmp_path, files, {"entrypoint": "broken:f"})
    assert result.returncode == 3
    assert (
        result.stderr.splitlines()[0]
        == "ModuleNotFoundError: No module named 'missing_dependency_xyz'"
    )


def test_inspect_keeps_stdout_clean_when_the_module_prints(tmp_path: Path) -> None:
    files = {"noisy.py": "print('hello from import')\ndef f(x: int) -> int:\n    return x\n"}
    result = inspect_entry(tmp_path, files, {"entrypoint": "noisy:f"})
    assert result.returncode == 0
    assert json.loads(result.stdout)["signature"][0]["name"] == "x"
    assert "hello from import" in result.stderr


def test_inspect_bad_spec_exits_2(tmp_path: Path) -> None:
    result = inspect_entry(
        tmp_path, SOLUTION, {"entrypoint": "solution:predict", "entry_kind": "rocket"}
    )
    assert result.returncode == 2
    assert "entry_kind 'rocket'" in result.stderr


# ---------------------------------------------------------------- kinds of functions


def test_typeddict_and_dataclass_parameters(tmp_path: Path) -> None:
    with serving(tmp_path, SOLUTION, spec("shapes")) as served:
        answer = served.run({"point": {"x": 1, "y": 2}, "box": {"width": 3}})
        assert answer.json() == {
            "status": "success",
            "output": {"sum": 3, "box": {"width": 3.0, "label": "box"}, "is_box": True},
        }
        wrong = served.run({"point": {"x": 1}, "box": {"width": 3}})
        assert wrong.status_code == 422
        assert wrong.json()["field"] == "point.y"
        wrong = served.run({"point": {"x": 1, "y": 2}, "box": {"width": "wide"}})
        assert wrong.json()["field"] == "box.width"
        schema = served.client.get("/schema").json()
        assert schema["properties"]["point"]["required"] == ["x", "y"]
        assert schema["properties"]["box"]["required"] == ["width"]


def test_async_function(tmp_path: Path) -> None:
    with serving(tmp_path, SOLUTION, spec("apredict")) as served:
        assert served.run({"n": 21}).json() == {"status": "success", "output": 42}


def test_dict_calling_convention_gets_the_whole_body(tmp_path: Path) -> None:
    with serving(tmp_path, SOLUTION, spec("takes_dict", calling_convention="dict")) as served:
        assert served.run({"b": 1, "a": 2}).json()["output"] == {"keys": ["a", "b"]}


def test_var_keyword_accepts_any_field(tmp_path: Path) -> None:
    with serving(tmp_path, SOLUTION, spec("anything")) as served:
        assert served.run({"z": 1}).json()["output"] == {"z": 1}
        assert served.client.get("/schema").json()["additionalProperties"] is True


# ---------------------------------------------------------------- outputs


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory):
    with serving(tmp_path_factory.mktemp("outputs"), SOLUTION, spec("outputs")) as served:
        yield served


def test_nan_output_is_refused_naming_where(outputs) -> None:
    answer = outputs.run({"kind": "nan"})
    assert answer.status_code == 500
    assert "nan at output['value'][1]" in answer.json()["error"]
    json.loads(answer.text)  # the answer itself is valid JSON


def test_non_serialisable_output_names_its_type(outputs) -> None:
    answer = outputs.run({"kind": "object"})
    assert answer.status_code == 500
    assert "type object is not JSON-serialisable" in answer.json()["error"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("bytes", "AAFoZWxsbw=="),
        ("path", {"name": "result.txt", "content_base64": "ZmlsZSBjb250ZW50cw=="}),
        ("dataclass", {"width": 2.5, "label": "box"}),
        ("set", [3]),
        ("none", None),
    ],
)
def test_outputs_are_serialised_the_same_way(outputs, kind, expected) -> None:
    assert outputs.run({"kind": kind}).json() == {"status": "success", "output": expected}


def test_solution_exception_is_an_error_envelope_and_logged(outputs) -> None:
    answer = outputs.run({"kind": "raise"})
    assert answer.status_code == 500
    assert answer.json() == {
        "status": "error",
        "error": "ValueError: bad value inside the solution",
    }
    assert outputs.run({"kind": "none"}).status_code == 200


# ---------------------------------------------------------------- streaming


def test_generator_streams_ndjson_items(tmp_path: Path) -> None:
    with serving(tmp_path, SOLUTION, spec("tokens")) as served:
        for request in (
            lambda: served.client.post("/stream", json={"count": 3}),
            lambda: served.client.post(
                "/run", json={"count": 3}, headers={"Accept": "application/x-ndjson"}
            ),
        ):
            answer = request()
            assert answer.headers["content-type"] == "application/x-ndjson"
            assert ndjson(answer) == [
                {"status": "item", "output": "token-0"},
                {"status": "item", "output": "token-1"},
                {"status": "item", "output": "token-2"},
                {"status": "success"},
            ]
        # without asking for a stream, the items come back as one list
        assert served.run({"count": 2}).json() == {
            "status": "success",
            "output": ["token-0", "token-1"],
        }
        assert served.client.get("/readyz").json()["streaming"] is True


def test_items_arrive_before_the_stream_ends(tmp_path: Path) -> None:
    files = {
        "slowstream.py": """
    import pathlib, time
    def tokens():
        yield "first"
        while not pathlib.Path("go").exists():
            time.sleep(0.02)
        yield "second"
    """
    }
    spec = {"entrypoint": "slowstream:tokens"}
    with (
        serving(tmp_path, files, spec) as served,
        served.client.stream("POST", "/stream", json={}) as response,
    ):
        lines = response.iter_lines()
        assert json.loads(next(lines)) == {"status": "item", "output": "first"}
        (served.workspace / "go").write_text("")
        assert json.loads(next(lines)) == {"status": "item", "output": "second"}
        assert json.loads(next(lines)) == {"status": "success"}


def test_generator_raising_half_way_ends_with_an_error_item(tmp_path: Path) -> None:
    with serving(tmp_path, SOLUTION, spec("broken_stream")) as served:
        items = ndjson(served.client.post("/stream", json={"count": 5}))
        assert items[:2] == [{"status": "item", "output": 0}, {"status": "item", "output": 1}]
        assert items[2] == {"status": "error", "error": "RuntimeError: failed half-way"}
        assert len(items) == 3
        assert served.client.get("/readyz").status_code == 200
        assert ndjson(served.client.post("/stream", json={"count": 2}))[-1] == {"status": "success"}


def test_async_generator_streams(tmp_path: Path) -> None:
    with serving(tmp_path, SOLUTION, spec("atokens")) as served:
        assert [
            i.get("output") for i in ndjson(served.client.post("/stream", json={"count": 3}))
        ] == [0, 1, 2, None]
        assert served.run({"count": 2}).json()["output"] == [0, 1]


def test_a_plain_function_streams_as_one_item(typed) -> None:
    items = ndjson(typed.client.post("/stream", json={"text": "a"}))
    assert items == [{"status": "item", "output": {"text": "a", "tags": []}}, {"status": "success"}]


def test_keep_alive_survives_a_stream(tmp_path: Path) -> None:
    with serving(tmp_path, SOLUTION, spec("tokens")) as served:
        request = served.request_bytes("POST", "/stream", b'{"count": 1}', Content_Length="12")
        with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
            for _ in range(2):
                sock.sendall(request)
                data = b""
                while not data.endswith(b"0\r\n\r\n"):
                    data += sock.recv(65536)
                assert b'{"status": "success"}' in data


# ---------------------------------------------------------------- limits


def test_body_over_the_limit_is_413_without_reading_it(tmp_path: Path) -> None:
    with serving(tmp_path, SOLUTION, spec("predict"), "--max-body", "1000") as served:
        answer = served.client.post("/run", content=b'{"text": "' + b"x" * 2000 + b'"}')
        assert answer.status_code == 413
        assert "over the limit of 1000 bytes" in answer.json()["error"]
        # a declared length far past the limit is refused before any body byte is sent
        head = served.request_bytes("POST", "/run", Content_Length=str(10**12))
        reply = served.raw(head)
        assert reply.startswith(b"HTTP/1.1 413")
        # Expect: 100-continue gets the 413 instead of the 100
        head = served.request_bytes("POST", "/run", Content_Length="5000", Expect="100-continue")
        reply = served.raw(head)
        assert reply.startswith(b"HTTP/1.1 413")
        assert served.run({"text": "small"}).status_code == 200


def test_chunked_body_over_the_limit_is_413(tmp_path: Path) -> None:
    with serving(tmp_path, SOLUTION, spec("predict"), "--max-body", "100") as served:
        chunk = b"x" * 80
        body = b"%x\r\n%s\r\n" % (len(chunk), chunk) * 3 + b"0\r\n\r\n"
        reply = served.raw(served.request_bytes("POST", "/run", body, Transfer_Encoding="chunked"))
        assert reply.startswith(b"HTTP/1.1 413")


def test_run_timeout_answers_504_and_the_server_stays_up(tmp_path: Path) -> None:
    with serving(tmp_path, SOLUTION, spec("sleepy"), "--run-timeout", "0.5") as served:
        answer = served.run({"seconds": 3})
        assert answer.status_code == 504
        assert "did not finish within 0.5s" in answer.json()["error"]
        assert served.run({"seconds": 0.01}).json() == {"status": "success", "output": 0.01}


def test_async_call_past_the_timeout_is_cancelled(tmp_path: Path) -> None:
    with serving(tmp_path, SOLUTION, spec("asleepy"), "--run-timeout", "0.3") as served:
        answer = served.run({"seconds": 30})
        assert answer.status_code == 504
        assert served.run({"seconds": 0}).json()["status"] == "success"


def test_stream_past_the_timeout_ends_with_an_error_item(tmp_path: Path) -> None:
    files = {
        "hang.py": """
    import time
    def tokens():
        yield 1
        time.sleep(5)
        yield 2
    """
    }
    with serving(tmp_path, files, {"entrypoint": "hang:tokens"}, "--run-timeout", "0.4") as served:
        items = ndjson(served.client.post("/stream", json={}))
        assert items[0] == {"status": "item", "output": 1}
        assert items[-1]["status"] == "error"
        assert "run timeout" in items[-1]["error"]


def test_busy_server_answers_429(tmp_path: Path) -> None:
    with serving(
        tmp_path, SOLUTION, spec("sleepy"), "--max-concurrency", "1", "--queue-timeout", "0.2"
    ) as served:
        results: list[httpx.Response] = []
        slow = threading.Thread(target=lambda: results.append(served.run({"seconds": 1.5})))
        slow.start()
        time.sleep(0.4)
        busy = served.run({"seconds": 0})
        slow.join()
        assert busy.status_code == 429
        assert busy.json()["error"].startswith("busy")
        assert busy.headers["Retry-After"] == "1"
        assert results[0].json() == {"status": "success", "output": 1.5}
        assert served.run({"seconds": 0}).status_code == 200


def test_idle_keep_alive_connections_are_closed(tmp_path: Path) -> None:
    with serving(tmp_path, SOLUTION, spec("predict"), "--idle-timeout", "0.5") as served:
        with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
            started = time.monotonic()
            assert sock.recv(100) == b""  # the server closed the idle connection
            assert time.monotonic() - started < 9
        # a half-sent request is closed too
        with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
            sock.sendall(b"POST /run HTTP/1.1\r\nHost: x\r\n")
            assert sock.recv(100) == b""
        assert served.run({"text": "still up"}).status_code == 200
