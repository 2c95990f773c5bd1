"""A scripted stand-in for an MWAA web server's ``/aws_mwaa/cli`` (protocol edge cases only)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def ok_body(stdout: str = "", stderr: str = "") -> bytes:
    return json.dumps(
        {
            "stdout": base64.b64encode(stdout.encode()).decode(),
            "stderr": base64.b64encode(stderr.encode()).decode(),
        }
    ).encode()


@dataclass
class ScriptedServer:
    host: str
    responses: list[tuple[int, bytes]]
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def scripted_server(responses: list[tuple[int, bytes]], delay: float = 0.0) -> Iterator[ScriptedServer]:
    """Answer each POST with the next scripted ``(status, body)``; the last one repeats."""
    state = ScriptedServer(host="", responses=list(responses), delay=delay)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
                state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status, payload = state.responses.pop(0) if len(state.responses) > 1 else state.responses[0]
            time.sleep(state.delay)
            with state.lock:
                state.in_flight -= 1
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.host = f"127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
