"""A stand-in for Modal's API server, for tests only: no Modal account is reachable here.

It speaks Modal's real gRPC protocol (the service definition shipped in `modal_proto`), so
the real modal client connects to it over HTTP/2 exactly as it would to Modal, and it answers
every call the way Modal answers a token it does not know: UNAUTHENTICATED. Every method
called is appended to the log file, so tests can see the client really got this far.

    python fake_modal_api.py LOG_FILE      # prints the port, serves until terminated
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from grpclib.const import Handler, Status
from grpclib.exceptions import GRPCError
from grpclib.server import Server, Stream
from modal_proto.api_grpc import ModalClientBase

MESSAGE = "Invalid token ID or secret (fake Modal API of deployer's tests)"


class RejectEverything:
    """Every ModalClient method, each answering UNAUTHENTICATED."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def __mapping__(self) -> dict[str, Handler]:
        template = ModalClientBase.__mapping__(_Blank())
        return {path: self._handler(path, spec) for path, spec in template.items()}

    def _handler(self, path: str, spec: Handler) -> Handler:
        async def reject(stream: Stream) -> None:
            with self.log.open("a", encoding="utf-8") as log:
                log.write(path.rsplit("/", 1)[-1] + "\n")
            raise GRPCError(Status.UNAUTHENTICATED, MESSAGE)

        return Handler(reject, spec.cardinality, spec.request_type, spec.reply_type)


class _Blank:
    """Gives ModalClientBase.__mapping__ a `self` whose methods are never called."""

    def __getattr__(self, name: str) -> None:
        return None


async def serve(log: Path) -> None:
    server = Server([RejectEverything(log)])
    await server.start("127.0.0.1", 0)
    port = server._server.sockets[0].getsockname()[1]
    print(port, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
