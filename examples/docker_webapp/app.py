"""A tiny JSON web app (standard library only) that ships its own Dockerfile.

POST /predict {"text": "..."} -> {"words": 2, "shout": "HELLO WORLD"}; GET /healthz -> ok.
It listens on $PORT (default 8000), so several copies can share one network.
"""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def predict(text: str) -> dict:
    return {"words": len(text.split()), "shout": text.upper()}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, code: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send(200, {"ok": True})
        else:
            self._send(404, {"detail": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
            result = predict(**data)
        except (ValueError, TypeError) as exc:
            self._send(422, {"detail": str(exc)})
            return
        if self.path == "/predict":
            self._send(200, result)
        else:
            self._send(404, {"detail": "not found"})


if __name__ == "__main__":
    port = int(os.environ.get("PORT") or 8000)
    print(f"webapp listening on {port}", flush=True)
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
