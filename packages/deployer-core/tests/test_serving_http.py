"""The runtime's HTTP handling on raw sockets: framing, smuggling attempts, chunked bodies, a
burst of connections and idle connections (the parser's fuzz test is test_serving_fuzz.py)."""

from __future__ import annotations

import json
import re
import socket
import threading
from pathlib import Path

import pytest
from serving_support import TOKEN, serving

FILES = {"echo.py": "def echo(text: str = '') -> str:\n    return text\n"}
SPEC = {"entrypoint": "echo:echo"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    with serving(tmp_path_factory.mktemp("http"), FILES, SPEC, "--idle-timeout", "2") as running:
        yield running


def responses(data: bytes) -> list[bytes]:
    """The status lines in a raw answer."""
    return re.findall(rb"HTTP/1\.[01] \d{3}[^\r\n]*", data)


def post(served, body: bytes, **headers: str) -> bytes:
    return served.request_bytes("POST", "/run", body, **headers)


def test_keep_alive_serves_several_requests_on_one_connection(served) -> None:
    body = b'{"text": "a"}'
    request = post(served, body, Content_Length=str(len(body)))
    answer = served.raw(request * 3, timeout=1)
    assert len(responses(answer)) == 3
    assert answer.count(b'"output": "a"') == 3


@pytest.mark.parametrize("length", ["-1", "+13", "13 13", "0x0d", "1e3", "13.0", " ", "١٣"])
def test_invalid_content_length_is_400_and_closes(served, length: str) -> None:
    smuggled = b'{"text": "a"}GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n'
    answer = served.raw(post(served, smuggled, Content_Length=length))
    assert responses(answer) == [b"HTTP/1.1 400 Bad Request"]


def test_duplicate_content_length_is_refused(served) -> None:
    body = b'{"text": "a"}'
    request = (
        f"POST /run HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Length: {len(body)}\r\nContent-Length: 0\r\n\r\n"
    ).encode() + body
    answer = served.raw(request)
    assert responses(answer) == [b"HTTP/1.1 400 Bad Request"]
    assert b"more than one Content-Length" in answer


def test_content_length_with_transfer_encoding_is_refused(served) -> None:
    body = b"0\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = served.raw(
        post(served, body, Content_Length=str(len(body)), Transfer_Encoding="chunked")
    )
    assert responses(answer) == [b"HTTP/1.1 400 Bad Request"]
    assert b"together are refused" in answer


@pytest.mark.parametrize("encoding", ["gzip", "chunked, gzip", "identity"])
def test_other_transfer_encodings_are_501(served, encoding: str) -> None:
    answer = served.raw(post(served, b"0\r\n\r\n", Transfer_Encoding=encoding))
    assert responses(answer) == [b"HTTP/1.1 501 Not Implemented"]


def test_chunked_body_is_read(served) -> None:
    body = b'{"text": "chunked"}'
    chunked = (
        b"5\r\n"
        + body[:5]
        + b"\r\n"
        + b"%x;ext=1\r\n" % (len(body) - 5)
        + body[5:]
        + b"\r\n0\r\n\r\n"
    )
    answer = served.raw(post(served, chunked, Transfer_Encoding="chunked") * 2, timeout=1)
    assert len(responses(answer)) == 2
    assert answer.count(b'"output": "chunked"') == 2


@pytest.mark.parametrize(
    "chunked",
    [
        b"zz\r\nabc\r\n0\r\n\r\n",
        b"-5\r\nabc\r\n0\r\n\r\n",
        b"3\r\nabcXX0\r\n\r\n",
        b"3\nabc\r\n0\r\n\r\n",
        b"1" * 40 + b"\r\n",
    ],
)
def test_malformed_chunks_are_400(served, chunked: bytes) -> None:
    answer = served.raw(post(served, chunked, Transfer_Encoding="chunked"))
    assert responses(answer) == [b"HTTP/1.1 400 Bad Request"]


def test_post_without_length_is_411(served) -> None:
    answer = served.raw(post(served, b""))
    assert responses(answer) == [b"HTTP/1.1 411 Length Required"]


def test_missing_or_duplicate_host_is_400(served) -> None:
    request = f"GET /readyz HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
    assert responses(served.raw(request)) == [b"HTTP/1.1 400 Bad Request"]
    request = (
        f"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nHost: evil\r\n"
        f"Authorization: Bearer {TOKEN}\r\n\r\n"
    ).encode()
    assert responses(served.raw(request)) == [b"HTTP/1.1 400 Bad Request"]


def test_a_get_with_a_body_closes_the_connection(served) -> None:
    smuggled = b"GET /schema HTTP/1.1\r\nHost: x\r\n\r\n"
    request = served.request_bytes("GET", "/readyz", smuggled, Content_Length=str(len(smuggled)))
    answer = served.raw(request)
    assert responses(answer) == [b"HTTP/1.1 200 OK"]
    assert b"Connection: close" in answer


def test_unsupported_method_and_garbage_request_line(served) -> None:
    answer = served.raw(b"BREW /run HTTP/1.1\r\nHost: x\r\n\r\n")
    assert responses(answer) == [b"HTTP/1.1 501 Not Implemented"]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["status"] == "error"
    answer = served.raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n")
    assert responses(answer)[0].startswith(b"HTTP/1.1 400")


def test_oversized_header_line_is_refused(served) -> None:
    request = b"GET /readyz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n"
    answer = served.raw(request)
    assert responses(answer)[0].startswith(b"HTTP/1.1 431")


def test_burst_of_new_connections_all_answered(served) -> None:
    body = b'{"text": "b"}'
    request = post(served, body, Content_Length=str(len(body)), Connection="close")
    results: list[bytes] = []
    barrier = threading.Barrier(64)

    def one() -> None:
        barrier.wait()
        results.append(served.raw(request, timeout=20))

    threads = [threading.Thread(target=one) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 64
    assert all(r.startswith(b"HTTP/1.1 200") for r in results)


def test_idle_connections_do_not_hold_threads_forever(tmp_path: Path) -> None:
    with serving(tmp_path, FILES, SPEC, "--idle-timeout", "0.5") as running:
        sockets = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(100)]
        for sock in sockets:
            sock.settimeout(10)
        closed = sum(1 for sock in sockets if sock.recv(10) == b"")
        for sock in sockets:
            sock.close()
        assert closed == 100
        assert running.run({"text": "x"}).status_code == 200
