"""A stand-in for Modal's API server, for tests only: no Modal account is reachable here.

It speaks Modal's real gRPC protocol (the service definition shipped in `modal_proto`), so
the real modal client connects to it over HTTP/2 exactly as it would to Modal, and it answers
every call the way Modal answers a token it does not know: UNAUTHENTICATED. Every method
called is appended to the log file, so tests can see the client really got this far, and
each request (as JSON, the fields the client sent) to LOG_FILE.jsonl.

An optional ANSWERS file (JSON: method name -> a reply message as JSON, or {"status":
"NOT_FOUND", "message": ...}) answers those methods instead: what Modal would say about an
app that tests describe (deployed, at version N), without any account.

    python fake_modal_api.py LOG_FILE [ANSWERS]   # prints the port, serves until terminated
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from google.protobuf.json_format import MessageToDict, ParseDict
from grpclib.const import Handler, Status
from grpclib.exceptions import GRPCError
from grpclib.server import Server, Stream
from modal_proto.api_grpc import ModalClientBase

MESSAGE = "Invalid token ID or secret (fake Modal API of deployer's tests)"


class RejectEverything:
    """Every ModalClient method, each answering UNAUTHENTICATED unless an answer is given."""

    def __init__(self, log: Path, answers: dict[str, dict] | None = None) -> None:
        self.log = log
        self.answers = answers or {}

    def __mapping__(self) -> dict[str, Handler]:
        template = ModalClientBase.__mapping__(_Blank())
        return {path: self._handler(path, spec) for path, spec in template.items()}

    def _handler(self, path: str, spec: Handler) -> Handler:
        method = path.rsplit("/", 1)[-1]

        async def reply(stream: Stream) -> None:
            request = await stream.recv_message()
            with self.log.open("a", encoding="utf-8") as log:
                log.write(method + "\n")
            fields = MessageToDict(request, preserving_proto_field_name=True) if request else {}
            with self.log.with_suffix(".jsonl").open("a", encoding="utf-8") as log:
                log.write(json.dumps({"method": method, "request": fields}) + "\n")
            answer = self.answers.get(method)
            if answer is None:
                raise GRPCError(Status.UNAUTHENTICATED, MESSAGE)
            if "status" in answer:
                raise GRPCError(Status[answer["status"]], answer.get("message", ""))
            await stream.send_message(
                ParseDict(answer, spec.reply_type(), ignore_unknown_fields=True)
            )

        return Handler(reply, spec.cardinality, spec.request_type, spec.reply_type)


class _Blank:
    """Gives ModalClientBase.__mapping__ a `self` whose methods are never called."""

    def __getattr__(self, name: str) -> None:
        return None


async def serve(log: Path, answers: dict[str, dict] | None) -> None:
    server = Server([RejectEverything(log, answers)])
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
    given = json.loads(Path(sys.argv[2]).read_text()) if len(sys.argv) > 2 else None
    asyncio.run(serve(Path(sys.argv[1]), given))
