"""An HTTP proxy on 127.0.0.1 that puts faults in front of a local server (moto's, for example).

Retry code has to be proven against the failures it is written for: an answer that comes too
late, one that never comes, a connection that drops after the server did the work, throttling,
and a refused connection. The proxy forwards each request to ``upstream`` (or not) and answers
(or not) as the current fault says, and counts what it forwarded, so a test can tell "stored
once" from "stored twice" from "never arrived"::

    with FaultyHttpProxy(aws.endpoint_url) as proxy:
        proxy.set_fault("late", delay=3)          # forwarded, answered after 3 s
        client = boto3.client("cloudwatch", endpoint_url=proxy.url, ...)

Faults (``FAULTS``):

- ``pass``: forward and answer.
- ``late``: forward, answer after ``delay`` seconds.
- ``hang``: never forward, never answer (the connection stays open until the client gives up).
- ``hang_after_forward``: forward, never answer.
- ``reset_after_forward``: forward, then close the connection without an answer.
- ``throttle``: answer "throttled" without forwarding (an AWS query-protocol ``Throttling``
  error for form-encoded requests, else ``status``, 429 by default).
- ``refuse``: nothing listens on the port; connections are refused.

``times=N`` applies the fault to the next N requests only, then the proxy passes again.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from airflow_mwaa_extras.exceptions import UsageError

FAULTS = ("pass", "late", "hang", "hang_after_forward", "reset_after_forward", "throttle", "refuse")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
# A "hang" never lasts longer than this, so a forgotten proxy cannot hold a thread forever.
MAX_HANG_SECONDS = 600.0


_QUERY_THROTTLED = (
    b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
    b"<Message>Rate exceeded (FaultyHttpProxy)</Message></Error><RequestId>0</RequestId></ErrorResponse>"
)


def _throttled(content_type: str, status: int) -> tuple[int, dict[str, str], bytes]:
    # AWS's query protocol (botocore < 1.42 for CloudWatch) needs an XML error to be parsed as
    # throttling; the newer protocols read the 429 status.
    if content_type.startswith("application/x-www-form-urlencoded"):
        return 400, {"Content-Type": "text/xml"}, _QUERY_THROTTLED
    return status, {"Content-Type": "text/plain"}, b"Rate exceeded (FaultyHttpProxy)"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: FaultyHttpProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet, like the other stand-ins
        return

    def setup(self) -> None:
        super().setup()
        self.server.proxy._track(self.connection, True)

    def finish(self) -> None:
        self.server.proxy._track(self.connection, False)
        super().finish()

    def _handle(self) -> None:
        proxy = self.server.proxy
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fault, delay, status = proxy._next_fault()
        if fault == "hang":
            proxy._stopping.wait(MAX_HANG_SECONDS)
            self.close_connection = True
            return
        if fault == "throttle":
            self._answer(*_throttled(self.headers.get("Content-Type", ""), status))
            return
        answer = proxy._forward(self.command, self.path, dict(self.headers.items()), body)
        if fault == "hang_after_forward":
            proxy._stopping.wait(MAX_HANG_SECONDS)
            self.close_connection = True
            return
        if fault == "reset_after_forward":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault == "late" and proxy._stopping.wait(delay):
            return
        self._answer(*answer)

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up first: that is what some faults are for
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


class FaultyHttpProxy:
    """A fault-injecting HTTP proxy on 127.0.0.1 in front of ``upstream`` (``http://host:port``).

    :param upstream: the server to forward to; only a loopback address is accepted.
    :param port: the port to listen on (0: a free one).
    """

    def __init__(self, upstream: str, port: int = 0) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost") or not parts.port:
            raise UsageError(f"upstream must be http://127.0.0.1:PORT, got {upstream!r}")
        self._upstream = (parts.hostname, parts.port)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._fault, self._delay, self._status, self._times = "pass", 0.0, 429, -1
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = port
        self.received = 0
        self.forwarded = 0
        self.faults_applied: dict[str, int] = {}
        self._connections: set[socket.socket] = set()
        self._listen()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_fault(
        self, fault: str, *, delay: float = 0.0, status: int = 429, times: int | None = None
    ) -> None:
        """Apply ``fault`` to the next ``times`` requests (all when ``None``)."""
        if fault not in FAULTS:
            raise UsageError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        with self._lock:
            self._fault, self._delay, self._status = fault, delay, status
            self._times = -1 if times is None else times
        if fault == "refuse":
            self._close()
        elif self._server is None:
            self._listen()

    def _next_fault(self) -> tuple[str, float, int]:
        with self._lock:
            self.received += 1
            fault = self._fault if self._times != 0 else "pass"
            if self._times > 0:
                self._times -= 1
            self.faults_applied[fault] = self.faults_applied.get(fault, 0) + 1
            return fault, self._delay, self._status

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(*self._upstream, timeout=120)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            answer = (response.status, dict(response.getheaders()), response.read())
        finally:
            conn.close()
        with self._lock:
            self.forwarded += 1
        return answer

    def _listen(self) -> None:
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.proxy = self
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="faulty-http-proxy", daemon=True)
        self._thread.start()

    def _track(self, connection: socket.socket, opened: bool) -> None:
        with self._lock:
            (self._connections.add if opened else self._connections.discard)(connection)

    def _close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        # Kept-alive connections would still be served: close them, so the next request
        # needs a new connection, and that one is refused.
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        """Stop listening and release every held connection."""
        self._stopping.set()
        self._close()
        time.sleep(0)  # let released handler threads run

    def __enter__(self) -> FaultyHttpProxy:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
