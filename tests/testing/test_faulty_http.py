"""The fault-injecting HTTP proxy, against a tiny local upstream (no AWS involved)."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.testing.faulty_http import FaultyHttpProxy


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Echo.bodies.append(body)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def upstream() -> Iterator[str]:
    _Echo.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def post(proxy: FaultyHttpProxy, body: bytes, timeout: float = 5) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=timeout)
    try:
        conn.request("POST", "/", body=body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_pass_forwards_and_counts(upstream: str) -> None:
    with FaultyHttpProxy(upstream) as proxy:
        assert post(proxy, b"one") == (200, b"one")
        assert (proxy.received, proxy.forwarded, _Echo.bodies) == (1, 1, [b"one"])


def test_throttle_for_the_next_two_requests_only(upstream: str) -> None:
    with FaultyHttpProxy(upstream) as proxy:
        proxy.set_fault("throttle", times=2)
        assert [post(proxy, b"x")[0] for _ in range(3)] == [429, 429, 200]
        assert (proxy.received, proxy.forwarded) == (3, 1)


def test_late_and_never_answering_requests_time_out_on_the_client(upstream: str) -> None:
    with FaultyHttpProxy(upstream) as proxy:
        proxy.set_fault("late", delay=2)
        with pytest.raises(TimeoutError):
            post(proxy, b"late", timeout=0.5)
        proxy.set_fault("hang")
        with pytest.raises(TimeoutError):
            post(proxy, b"hang", timeout=0.5)
        assert _Echo.bodies == [b"late"]  # the late one arrived; the hung one never did


def test_reset_after_forward_did_the_work_but_gives_no_answer(upstream: str) -> None:
    with FaultyHttpProxy(upstream) as proxy:
        proxy.set_fault("reset_after_forward")
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            post(proxy, b"done")
        assert _Echo.bodies == [b"done"]


def test_refuse_then_listen_again_on_the_same_port(upstream: str) -> None:
    with FaultyHttpProxy(upstream) as proxy:
        port = proxy.port
        proxy.set_fault("refuse")
        with pytest.raises(ConnectionRefusedError):
            post(proxy, b"x")
        proxy.set_fault("pass")
        assert proxy.port == port
        assert post(proxy, b"back") == (200, b"back")


def test_only_a_loopback_upstream_and_known_faults() -> None:
    with pytest.raises(UsageError, match="127.0.0.1"):
        FaultyHttpProxy("http://example.com:80")
    with FaultyHttpProxy("http://127.0.0.1:9") as proxy, pytest.raises(UsageError, match="unknown fault"):
        proxy.set_fault("slow")
