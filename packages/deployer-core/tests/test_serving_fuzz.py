"""A hypothesis fuzz of the runtime's request parser: arbitrary bytes and mangled requests get
a 4xx (or 501/505) or a closed connection, never a crash, and the server keeps serving."""

from __future__ import annotations

import re
import socket

import pytest
from serving_support import TOKEN, serving

pytest.importorskip("hypothesis", reason="hypothesis is needed for the fuzz test (CI installs it)")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FILES = {"echo.py": "def echo(text: str = '') -> str:\n    return text\n"}
SPEC = {"entrypoint": "echo:echo"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    with serving(tmp_path_factory.mktemp("fuzz"), FILES, SPEC, "--idle-timeout", "2") as running:
        yield running


def responses(data: bytes) -> list[bytes]:
    return re.findall(rb"HTTP/1\.[01] \d{3}[^\r\n]*", data)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.one_of(
        st.binary(max_size=600),
        st.builds(
            lambda method, path, headers, body: (
                method + b" " + path + b" HTTP/1.1\r\n" + headers + b"\r\n" + body
            ),
            st.sampled_from([b"GET", b"POST", b"PUT", b"", b"G\x00T"]),
            st.sampled_from(
                [b"/run", b"/readyz", b"/livez", b"/../../etc/passwd", b"*", b"/run?x=%00"]
            ),
            st.lists(
                st.sampled_from(
                    [
                        b"Host: 127.0.0.1\r\n",
                        b"Content-Length: 5\r\n",
                        b"Content-Length: -1\r\n",
                        b"Transfer-Encoding: chunked\r\n",
                        b"Authorization: Bearer " + TOKEN.encode() + b"\r\n",
                        b"Expect: 100-continue\r\n",
                        b"Content-Length: 99999999999999999999\r\n",
                        b"X: \xff\r\n",
                        b": empty\r\n",
                        b"Origin: null\r\n",
                    ]
                ),
                max_size=5,
            ).map(b"".join),
            st.binary(max_size=80),
        ),
    )
)
def test_fuzz_request_parser_never_crashes_the_server(served, data: bytes) -> None:
    try:
        answer = served.raw(data, timeout=0.3)
    except (ConnectionError, TimeoutError):
        answer = b""
    for status in responses(answer):
        code = int(status.split(b" ")[1])
        assert code < 500 or code in (501, 505), answer[:300]
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 200")


def test_server_survived_the_fuzz(served) -> None:
    assert served.proc.poll() is None
    assert "Traceback" not in served.log()
    assert served.run({"text": "alive"}).json() == {"status": "success", "output": "alive"}
