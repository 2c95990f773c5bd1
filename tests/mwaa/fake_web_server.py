"""A scripted stand-in for an MWAA web server's ``/aws_mwaa/cli`` (protocol edge cases only),
and a clock that tests move by hand."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
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


class FakeClock:
    """A monotonic clock that moves only when told (``advance``): token ages without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@dataclass
class ScriptedServer:
    host: str
    responses: list[tuple[int, bytes]]
    #: called once per request while it is in flight (e.g. to move a FakeClock)
    on_request: Callable[[], None] | None = None
    #: each request waits (up to ``hold_timeout`` s) until this many are in flight at once
    hold_until_in_flight: int = 0
    hold_timeout: float = 10.0
    #: set when answers may go out; unset (``answer_late``) they wait until the server stops
    release: threading.Event = field(default_factory=threading.Event)
    requests: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Condition = field(default_factory=threading.Condition)


@contextmanager
def scripted_server(
    responses: list[tuple[int, bytes]],
    *,
    on_request: Callable[[], None] | None = None,
    hold_until_in_flight: int = 0,
    answer_late: bool = False,
) -> Iterator[ScriptedServer]:
    """Answer each POST with the next scripted ``(status, body)``; the last one repeats.

    ``hold_until_in_flight=n`` makes requests wait for each other until ``n`` are in flight
    together (an event, not a sleep: a slow machine cannot make them miss each other);
    ``answer_late=True`` answers nothing until the ``with`` block ends (every client timeout expires).
    """
    state = ScriptedServer(
        host="", responses=list(responses), on_request=on_request, hold_until_in_flight=hold_until_in_flight
    )

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
                state.lock.notify_all()
                state.lock.wait_for(
                    lambda: state.max_in_flight >= state.hold_until_in_flight, state.hold_timeout
                )
            if state.on_request is not None:
                state.on_request()
            state.release.wait(60)
            with state.lock:
                state.in_flight -= 1
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.host = f"127.0.0.1:{server.server_address[1]}"
    if not answer_late:
        state.release.set()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
