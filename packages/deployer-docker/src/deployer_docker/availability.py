"""Where the Docker engine is and whether it answers: standard library only.

Used by the availability hook, which must be quick and must not import the docker SDK. The
engine address is read the way the SDK's `docker.from_env()` reads it: `DOCKER_HOST`, else the
default local socket. A ping is `GET /_ping` over the socket; anything but a prompt `OK` makes
the strategy unavailable with the reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit

from deployer.plugin import Availability

DEFAULT_HOST = "unix:///var/run/docker.sock"
PING_TIMEOUT = 1.0
_START_HINT = (
    "start the Docker engine (e.g. `sudo systemctl start docker`) or point DOCKER_HOST at a "
    "running one"
)


def docker_host(environ: Mapping[str, str] | None = None) -> str:
    """The engine address the SDK will use."""
    env = os.environ if environ is None else environ
    return (env.get("DOCKER_HOST") or "").strip() or DEFAULT_HOST


def is_local(host: str) -> bool:
    """True when the engine runs on this machine (published ports are on 127.0.0.1)."""
    parts = urlsplit(host)
    if parts.scheme in {"unix", "npipe", "http+unix"}:
        return True
    return parts.hostname in {"localhost", "127.0.0.1", "::1"}


def published_host(host: str) -> str:
    """The address where containers' published ports (and host-network servers) are reached."""
    if is_local(host):
        return "127.0.0.1"
    return urlsplit(host).hostname or "127.0.0.1"


def _http_ping(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 8192:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _ping_unix(path: str, timeout: float) -> Availability:
    where = f"unix://{path}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except FileNotFoundError:
            return Availability(False, f"no Docker engine socket at {path}", _START_HINT)
        except PermissionError:
            return Availability(
                False,
                f"permission denied on the Docker engine socket {path}",
                "add your user to the `docker` group (then log in again) or use a socket "
                "you may open",
            )
        except ConnectionRefusedError:
            return Availability(False, f"nothing listens on the Docker socket {path}", _START_HINT)
        except OSError as exc:
            return Availability(False, f"cannot connect to {where}: {exc}", _START_HINT)
        return _judge(sock, where, timeout)


def _ping_tcp(host: str, timeout: float, environ: Mapping[str, str]) -> Availability:
    parts = urlsplit(host)
    address = parts.hostname or "127.0.0.1"
    tls = bool(environ.get("DOCKER_TLS_VERIFY")) or parts.port == 2376 or parts.scheme == "https"
    port = parts.port or (2376 if tls else 2375)
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except TimeoutError:
        return Availability(
            False, f"the Docker engine at {host} did not answer within {timeout:g}s", _START_HINT
        )
    except OSError as exc:
        return Availability(False, f"cannot connect to the Docker engine at {host}: {exc}")
    with sock:
        if tls:
            # Certificates are the SDK's business; reaching the port is the quick check here.
            return Availability(True)
        return _judge(sock, host, timeout)


def _judge(sock: socket.socket, where: str, timeout: float) -> Availability:
    try:
        answer = _http_ping(sock)
    except TimeoutError:
        return Availability(
            False, f"the Docker engine at {where} did not answer within {timeout:g}s", _START_HINT
        )
    except (OSError, ssl.SSLError) as exc:
        return Availability(False, f"the Docker engine at {where} failed to answer: {exc}")
    status = answer.split(b"\r\n", 1)[0].decode("latin-1", "replace")
    if " 200" not in status:
        shown = status or "no answer"
        return Availability(False, f"the Docker engine at {where} answered {shown!r} to a ping")
    return Availability(True)


def check_engine(
    environ: Mapping[str, str] | None = None, timeout: float = PING_TIMEOUT
) -> Availability:
    """Whether the engine answers; never raises."""
    env = os.environ if environ is None else environ
    host = docker_host(env)
    try:
        parts = urlsplit(host)
        if parts.scheme in {"unix", "http+unix"}:
            return _ping_unix(parts.path or host.split("://", 1)[1], timeout)
        if parts.scheme in {"tcp", "http", "https"}:
            return _ping_tcp(host, timeout, env)
        if parts.scheme == "ssh":
            if shutil.which("ssh") is None:
                return Availability(
                    False, f"DOCKER_HOST is {host} but no `ssh` program is on PATH", "install ssh"
                )
            return Availability(True)  # checking would mean logging in: left to the deploy
        if parts.scheme == "npipe":
            return Availability(True)
        return Availability(
            False,
            f"DOCKER_HOST={host!r} is not an address the docker SDK understands",
            "use unix:///path/to/docker.sock, tcp://host:2375 or ssh://user@host",
        )
    except Exception as exc:  # the hook must never raise
        return Availability(False, f"checking the Docker engine at {host} failed: {exc}")
