"""The CLI endpoint's transport: CLI tokens kept fresh, one ``POST /aws_mwaa/cli``, and the
process-wide limit on commands sent to one environment at a time.

A token is reused only while it has more than ``margin`` seconds of its life left, so no request
carries an expired token. One POST reports whether the command may have reached Airflow (a
connection that never opened cannot have run it; one that broke or timed out may have), so the
caller can decide whether resending is safe. Stdlib ``http.client`` (the Lambda runtime has no
``requests``); ``HTTPS_PROXY`` is honoured through a CONNECT tunnel.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from airflow_mwaa_extras.mwaa.web_server_urls import CLI_PATH, proxy_for, web_server_base_url

__all__ = ["CliToken", "PostOutcome", "TokenCache", "environment_semaphore", "post_command"]

Clock = Callable[[], float]


@dataclass(frozen=True)
class CliToken:
    value: str
    hostname: str
    requested_at: float  # the cache's clock before the CreateCliToken call


class TokenCache:
    """One environment's CLI token, replaced when less than ``margin`` seconds of ``lifetime`` are left.

    :param fetch: asks MWAA for a token: ``() -> (token, web server host name)``
    :param lifetime: how long MWAA honours a token (60 seconds)
    :param margin: a token is reused only with more than this many seconds left
    :param clock: seconds on a monotonic clock (``time.monotonic``; tests pass a fake one)
    """

    def __init__(
        self,
        fetch: Callable[[], tuple[str, str]],
        *,
        lifetime: float,
        margin: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.lifetime = lifetime
        self.margin = margin
        self.clock = clock
        self._token: CliToken | None = None
        self._lock = threading.Lock()

    def fresh(self) -> tuple[CliToken, bool]:
        """``(token, fetched)``: the cached token while it has margin left, else a new one."""
        with self._lock:
            token = self._token
            if token is not None and self.age(token) < self.lifetime - self.margin:
                return token, False
            requested_at = self.clock()
            value, hostname = self._fetch()
            self._token = CliToken(value, hostname, requested_at)
            return self._token, True

    def age(self, token: CliToken) -> float:
        """Seconds since ``token`` was requested."""
        return self.clock() - token.requested_at

    def drop(self, token: CliToken) -> None:
        """Forget ``token`` (the web server refused it), unless a newer one replaced it already."""
        with self._lock:
            if self._token is token:
                self._token = None


# Commands to one environment share a semaphore across every client in the process.
_SEMAPHORES: dict[tuple[str, str, int], threading.BoundedSemaphore] = {}
_SEMAPHORES_LOCK = threading.Lock()


def environment_semaphore(where: str, environment: str, limit: int) -> threading.BoundedSemaphore:
    """The process-wide semaphore of ``limit`` slots for one environment (``where``: its region or endpoint)."""
    key = (where, environment, limit)
    with _SEMAPHORES_LOCK:
        semaphore = _SEMAPHORES.get(key)
        if semaphore is None:
            semaphore = _SEMAPHORES[key] = threading.BoundedSemaphore(limit)
        return semaphore


@dataclass(frozen=True)
class PostOutcome:
    """What one POST got. ``status`` is None when no answer came: then ``maybe_ran`` is False when
    the connection never opened (nothing was sent), True when it broke or timed out after the
    command was sent."""

    status: int | None
    body: bytes = b""
    problem: str = ""
    maybe_ran: bool = False


def post_command(token: CliToken, line: str, *, connect_timeout: float, wait: float) -> PostOutcome:
    """``POST /aws_mwaa/cli`` with ``line`` as the body, once.

    :param connect_timeout: seconds to open the connection
    :param wait: seconds to wait for the answer once the command is sent
    """
    parts = urlsplit(web_server_base_url(token.hostname))
    proxy = proxy_for(parts.netloc) if parts.scheme == "https" else None
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            proxy or parts.netloc, timeout=connect_timeout, context=ssl.create_default_context()
        )
        if proxy:
            conn.set_tunnel(parts.netloc)  # CONNECT through HTTPS_PROXY
    else:
        conn = http.client.HTTPConnection(parts.netloc, timeout=connect_timeout)
    try:
        try:
            conn.connect()
        except OSError as err:
            # Nothing was sent: safe to retry.
            via = f" through the proxy {proxy}" if proxy else ""
            return PostOutcome(None, problem=f"cannot connect to {parts.netloc}{via}: {err}")
        if conn.sock is not None:
            conn.sock.settimeout(wait)
        try:
            conn.request(
                "POST",
                CLI_PATH,
                body=line.encode("utf-8"),
                headers={"Authorization": f"Bearer {token.value}", "Content-Type": "text/plain"},
            )
            response = conn.getresponse()
            return PostOutcome(response.status, response.read())
        except TimeoutError:
            # The command may have started: resending could run it twice.
            return PostOutcome(None, problem=f"no answer within {wait:g} s", maybe_ran=True)
        except (OSError, http.client.HTTPException) as err:
            return PostOutcome(None, problem=f"the connection to {parts.netloc} broke: {err}", maybe_ran=True)
    finally:
        conn.close()
