"""availability.py against real sockets: a listening port answers, a closed one does not."""

from __future__ import annotations

import socket

import pytest

from deployer_ray.availability import LOCAL, check, cluster_address, gcs_answers, split_address
from deployer_ray.runner import memory_bytes


def test_address_comes_from_option_then_env_then_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    assert cluster_address({"address": "1.2.3.4:1"}) == "1.2.3.4:1"
    assert cluster_address({}) == "10.0.0.1:6379"
    monkeypatch.delenv("RAY_ADDRESS")
    assert cluster_address({"address": " "}) == LOCAL


def test_split_address() -> None:
    assert split_address("ray://host:10001") == ("host", 10001)
    assert split_address("host") is None
    assert split_address("host:port") is None


def test_gcs_port_must_answer() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert gcs_answers(f"127.0.0.1:{port}")
        assert check({"address": f"127.0.0.1:{port}"}) is None
    refused = check({"address": f"127.0.0.1:{port}"})
    assert refused is not None and not refused.available
    assert str(port) in refused.reason and "address=local" in refused.hint


def test_malformed_address_is_one_readable_line() -> None:
    result = check({"address": "nonsense"})
    assert result is not None and "host:port" in result.reason and "\n" not in result.reason


def test_memory_sizes() -> None:
    assert memory_bytes("512Mi") == 512 * 1024**2
    assert memory_bytes("2G") == 2 * 1000**3
    with pytest.raises(Exception, match="512Mi"):
        memory_bytes("lots")
