"""Run Airflow CLI commands in an MWAA environment: CLI token, ``POST /aws_mwaa/cli``, decoding.

The protocol (MWAA user guide): ``CreateCliToken(Name=...)`` returns a token valid for 60 seconds
and the web server host name; ``POST https://{host}/aws_mwaa/cli`` with ``Authorization: Bearer
{token}`` and the command line as a ``text/plain`` body answers ``{"stdout": b64, "stderr": b64}``.
The web server runs about four CLI commands at a time and answers 503 beyond that.

What this client adds to the guide's snippets:

- a token is reused only while it has more than ``token_margin`` seconds left, so no request
  carries an expired token; a 401/403 refreshes it once;
- commands to one environment pass through a process-wide semaphore (default 1, at most 4, or
  ``"auto"``: 4 per web server of GetEnvironment's ``MinWebservers``), so a worker never
  overloads the endpoint; MWAA's capacity is shared by every caller of the environment;
- retries follow one rule: a request that cannot have reached Airflow (connection refused, 503
  or 429 from MWAA's busy limit, a 401/403 token refresh) is resent, a bounded number of times
  with exponential backoff and jitter. After a 500/502/504, a broken connection or a timeout, a
  read-only command is resent the same way, and a command that changes something
  (:attr:`~airflow_mwaa_extras.mwaa.commands.AirflowCommand.mutating`) is not:
  :class:`~airflow_mwaa_extras.mwaa.errors.MwaaCommandMayHaveRunError` says "may have run";
- success is judged from what the command prints on success
  (:func:`~airflow_mwaa_extras.mwaa.commands.output_failed`), not from stderr noise;
- ``HTTPS_PROXY``/``NO_PROXY`` are honoured (a CONNECT tunnel through the proxy);
- every failure is one :mod:`~airflow_mwaa_extras.mwaa.errors` exception with a one-line cause.

No Airflow import: the same code serves hooks, ``mwaa-extras`` and AWS Lambda (stdlib
``http.client`` instead of ``requests``, which the Lambda runtime lacks).
"""

from __future__ import annotations

import base64
import binascii
import http.client
import ipaddress
import json
import logging
import os
import random
import re
import ssl
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.mwaa import commands
from airflow_mwaa_extras.mwaa.errors import (
    MwaaAccessDeniedError,
    MwaaCliError,
    MwaaCommandMayHaveRunError,
    MwaaEnvironmentNotFoundError,
    MwaaError,
    MwaaProtocolError,
    MwaaThrottledError,
    MwaaUnreachableError,
    command_head,
)

CLI_PATH = "/aws_mwaa/cli"
LOGIN_PATH = "/aws_mwaa/aws-console-sso"
LOGIN_PATH_V3 = "/pluginsv2/aws_mwaa/aws-console-sso"  # MWAA 3 serves its plugin under /pluginsv2/
log = logging.getLogger(__name__)
TOKEN_LIFETIME_SECONDS = 60.0
MAX_CONCURRENCY = 4  # what MWAA's web server runs at a time

_ACCESS_DENIED_CODES = {
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "ExpiredToken",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
}
_THROTTLED_CODES = {"ThrottlingException", "TooManyRequestsException", "Throttling"}


@dataclass(frozen=True)
class CliResult:
    """The decoded outcome of one remote Airflow CLI command.

    :param command: the command line that ran (secret values shown as ``***``)
    :param stdout: decoded standard output
    :param stderr: decoded standard error
    :param attempts: HTTP requests it took (retries included)
    """

    command: str
    stdout: str
    stderr: str
    attempts: int = 1
    #: what the command prints on success (see :attr:`commands.AirflowCommand.expect`)
    expect: str = ""

    @property
    def failed(self) -> bool:
        """Whether the output says the command failed (:func:`commands.output_failed`)."""
        return commands.output_failed(
            commands.AirflowCommand((), expect=self.expect), self.stdout, self.stderr
        )

    def parsed_json(self) -> Any:
        """The JSON document in stdout (``--output=json``), skipping log lines printed before it
        (Airflow 3 writes some); ``[]`` when Airflow printed "No data found" (an empty list).

        :raises MwaaProtocolError: when stdout holds no JSON document
        """
        decoder = json.JSONDecoder()
        for match in re.finditer(r"^[\[{]", self.stdout, re.MULTILINE):
            try:
                return decoder.raw_decode(self.stdout, match.start())[0]
            except ValueError:
                continue
        if re.search(r"^No data found", self.stdout, re.MULTILINE):
            return []
        raise MwaaProtocolError(f"{command_head(self.command)} printed no JSON document")


@dataclass
class ClientStats:
    """Counters for one client: what it cost to run the commands so far."""

    commands: int = 0
    token_calls: int = 0
    http_requests: int = 0
    http_503: int = 0
    http_401_403: int = 0
    retries: int = 0
    #: the oldest token age (seconds since it was requested) at the moment a request was sent
    max_token_age_at_send: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **increments: float) -> None:
        with self._lock:
            for name, value in increments.items():
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, float]:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}


@dataclass
class _Token:
    value: str
    hostname: str
    requested_at: float  # time.monotonic() before the CreateCliToken call


# Commands to one environment share a semaphore across every client in the process.
_SEMAPHORES: dict[tuple[str, str, int], threading.BoundedSemaphore] = {}
_SEMAPHORES_LOCK = threading.Lock()


def _environment_semaphore(key: tuple[str, str, int]) -> threading.BoundedSemaphore:
    with _SEMAPHORES_LOCK:
        semaphore = _SEMAPHORES.get(key)
        if semaphore is None:
            semaphore = _SEMAPHORES[key] = threading.BoundedSemaphore(key[2])
        return semaphore


def is_loopback_host(host: str) -> bool:
    """``127.0.0.1``, ``::1`` and ``localhost`` (with or without a port) are loopback."""
    name = host
    if name.startswith("["):  # [::1]:8080
        name = name[1:].split("]", 1)[0]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def web_server_base_url(hostname: str) -> str:
    """``https://{hostname}``; plain ``http`` only for a loopback host (the local stand-in).

    :raises MwaaProtocolError: for an ``http://`` URL to a host that is not loopback
    """
    if "://" in hostname:
        parts = urlsplit(hostname)
        scheme, netloc = parts.scheme.lower(), parts.netloc
    else:
        scheme, netloc = ("http" if is_loopback_host(hostname) else "https"), hostname
    if not netloc:
        raise MwaaProtocolError(f"the web server host name {hostname!r} is empty or malformed")
    if scheme == "http" and not is_loopback_host(netloc):
        raise MwaaProtocolError(f"refusing plain http to {netloc}: only loopback hosts may use http")
    if scheme not in ("http", "https"):
        raise MwaaProtocolError(f"unsupported scheme {scheme!r} for the web server")
    return f"{scheme}://{netloc}"


def looks_failed(stderr: str) -> bool:
    """The stderr heuristic alone (for commands whose success output is unknown)."""
    return commands.stderr_looks_failed(stderr)


def login_path(airflow_version: str) -> str:
    """The web login path: ``/aws_mwaa/aws-console-sso``, under ``/pluginsv2/`` on Airflow 3."""
    return LOGIN_PATH_V3 if commands.is_airflow_3(airflow_version) else LOGIN_PATH


def proxy_for(netloc: str) -> str | None:
    """``host:port`` of the HTTPS proxy to use for ``netloc`` (``HTTPS_PROXY``, ``NO_PROXY``)."""
    if is_loopback_host(netloc):
        return None
    proxy = urllib.request.getproxies().get("https")
    if not proxy or urllib.request.proxy_bypass(netloc.split(":", 1)[0]):
        return None
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MwaaProtocolError(
            f"HTTPS_PROXY must be an http://host:port proxy, got {parts.scheme}:// (use a tunnel for SOCKS)"
        )
    return f"{parts.hostname}:{parts.port or 80}"


def _decode_field(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MwaaProtocolError(f"the CLI endpoint's {name} is not a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise MwaaProtocolError(f"the CLI endpoint's {name} is not valid base64") from None
    return raw.decode("utf-8", errors="replace")


def decode_cli_response(body: bytes) -> tuple[str, str]:
    """``{"stdout": b64, "stderr": b64}`` -> ``(stdout, stderr)``.

    :raises MwaaProtocolError: when the body is not that JSON document
    """
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        snippet = body[:80].decode("utf-8", errors="replace").strip()
        raise MwaaProtocolError(
            f"the CLI endpoint answered something that is not JSON: {snippet!r}"
        ) from None
    if not isinstance(payload, dict) or not ({"stdout", "stderr"} & payload.keys()):
        raise MwaaProtocolError("the CLI endpoint's JSON has neither stdout nor stderr")
    return _decode_field(payload, "stdout"), _decode_field(payload, "stderr")


class MwaaEnvironmentClient:
    """Run Airflow CLI commands in one MWAA environment.

    :param environment_name: the MWAA environment name
    :param mwaa_client: a boto3 ``mwaa`` client; created lazily from region/endpoint when None
    :param region_name: AWS region (default: boto3's configuration)
    :param endpoint_url: MWAA API endpoint (default: boto3's; ``AWS_ENDPOINT_URL_MWAA`` is honoured)
    :param max_concurrency: commands this process sends to the environment at a time (1 to 4),
        or ``"auto"``: 4 for each web server GetEnvironment's ``MinWebservers`` guarantees (MWAA's
        capacity is shared by every caller of the environment)
    :param timeout: seconds to wait for the web server to answer one command
    :param max_attempts: HTTP attempts per command for 503/5xx/connection failures
    :param airflow_version: the environment's Airflow version; when None it is read once with
        GetEnvironment (needs ``airflow:GetEnvironment``)
    :param token_lifetime: how long MWAA honours a CLI token (60 seconds)
    :param token_margin: a token is reused only with more than this many seconds left
    :param backoff_base: first retry delay in seconds (doubles each retry, with jitter)
    :param backoff_max: the longest retry delay
    :param allow_unlisted: send commands the client's table of MWAA commands does not list
        (default: ``MWAA_EXTRAS_ALLOW_UNLISTED_COMMANDS``)
    """

    def __init__(
        self,
        environment_name: str,
        *,
        mwaa_client: Any = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        max_concurrency: int | str = 1,
        timeout: float = 300.0,
        max_attempts: int = 5,
        airflow_version: str | None = None,
        token_lifetime: float = TOKEN_LIFETIME_SECONDS,
        token_margin: float = 15.0,
        backoff_base: float = 0.5,
        backoff_max: float = 10.0,
        connect_timeout: float = 10.0,
        allow_unlisted: bool | None = None,
    ) -> None:
        if not environment_name or not isinstance(environment_name, str):
            raise UsageError("an MWAA environment name is needed")
        self._auto_concurrency = max_concurrency == "auto"
        if self._auto_concurrency:
            max_concurrency = 1  # until GetEnvironment says more
        if not isinstance(max_concurrency, int) or not 1 <= max_concurrency <= MAX_CONCURRENCY:
            raise UsageError(
                f"max_concurrency must be between 1 and {MAX_CONCURRENCY}, got {max_concurrency}"
            )
        if int(max_attempts) < 1:
            raise UsageError(f"max_attempts must be at least 1, got {max_attempts}")
        if not 0 <= token_margin < token_lifetime:
            raise UsageError("token_margin must be at least 0 and below token_lifetime")
        self.environment_name = environment_name
        self.region_name = region_name
        self.endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_MWAA") or None
        self.max_concurrency = int(max_concurrency)
        self.allow_unlisted = commands.allow_unlisted_from_env() if allow_unlisted is None else allow_unlisted
        self.timeout = float(timeout)
        #: ``time.monotonic()`` after which no request may wait (e.g. a Lambda function's end)
        self.deadline: float | None = None
        self.connect_timeout = float(connect_timeout)
        self.max_attempts = int(max_attempts)
        self.token_lifetime = float(token_lifetime)
        self.token_margin = float(token_margin)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.stats = ClientStats()
        self._mwaa_client = mwaa_client
        self._airflow_version = airflow_version
        self._environment: dict[str, Any] | None = None
        self._token: _Token | None = None
        self._token_lock = threading.Lock()
        self._where = self.endpoint_url or region_name or os.environ.get("AWS_DEFAULT_REGION") or ""
        self._semaphore = _environment_semaphore((self._where, environment_name, self.max_concurrency))

    def __repr__(self) -> str:
        return f"MwaaEnvironmentClient({self.environment_name!r})"

    # --- the MWAA API --------------------------------------------------------------------

    @property
    def mwaa_client(self) -> Any:
        """The boto3 ``mwaa`` client (shared with InvokeRestApi callers)."""
        if self._mwaa_client is None:
            from botocore.exceptions import NoRegionError

            try:
                self._mwaa_client = create_mwaa_client(
                    region_name=self.region_name,
                    endpoint_url=self.endpoint_url,
                    connect_timeout=self.connect_timeout,
                    read_timeout=self.timeout,
                )
            except NoRegionError:
                raise UsageError(
                    "no AWS region configured: pass --region / region_name or set AWS_DEFAULT_REGION"
                ) from None
        return self._mwaa_client

    def get_environment(self) -> dict[str, Any]:
        """GetEnvironment's ``Environment`` (cached after the first call)."""
        if self._environment is None:
            response = self._call_api(
                "GetEnvironment", self.mwaa_client.get_environment, Name=self.environment_name
            )
            self._environment = dict(response.get("Environment") or {})
        return self._environment

    @property
    def airflow_version(self) -> str:
        """The environment's Airflow version (given, or GetEnvironment's ``AirflowVersion``)."""
        if self._airflow_version is None:
            version = self.get_environment().get("AirflowVersion")
            if not version:
                raise MwaaProtocolError(f"GetEnvironment for {self.environment_name} has no AirflowVersion")
            self._airflow_version = str(version)
        return self._airflow_version

    def web_login_url(self) -> str:
        """A one-time URL that logs into the Airflow UI (valid for 60 seconds)."""
        response = self._call_api(
            "CreateWebLoginToken", self.mwaa_client.create_web_login_token, Name=self.environment_name
        )
        token, hostname = response.get("WebToken"), response.get("WebServerHostname")
        if not token or not hostname:
            raise MwaaProtocolError("CreateWebLoginToken answered without WebToken or WebServerHostname")
        return f"{web_server_base_url(hostname)}{login_path(self.airflow_version)}?login=true#{token}"

    def _follow_web_servers(self) -> None:
        """``max_concurrency="auto"``: 4 commands per web server MWAA keeps running."""
        if not self._auto_concurrency:
            return
        self._auto_concurrency = False
        servers = int(self.get_environment().get("MinWebservers") or 1)
        limit = max(1, 4 * servers)
        log.info(
            "%s: up to %d CLI commands at a time (MinWebservers=%d)", self.environment_name, limit, servers
        )
        self.max_concurrency = limit
        self._semaphore = _environment_semaphore((self._where, self.environment_name, limit))

    def _call_api(self, operation: str, method: Any, **kwargs: Any) -> dict[str, Any]:
        """One control-plane call (idempotent: tokens, GetEnvironment), the only retry layer for
        it: botocore's own retries are off (``total_max_attempts=1``)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._call_api_once(operation, method, **kwargs)
            except (MwaaThrottledError, MwaaUnreachableError):
                if attempt >= self.max_attempts:
                    raise
            time.sleep(self._backoff(attempt))

    def _call_api_once(self, operation: str, method: Any, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            NoRegionError,
            ReadTimeoutError,
        )

        try:
            return dict(method(**kwargs))
        except ClientError as err:
            raise _client_error(err, operation, self.environment_name) from None
        except NoCredentialsError:
            raise MwaaAccessDeniedError(f"{operation}: no AWS credentials found") from None
        except NoRegionError:
            raise UsageError(
                f"{operation}: no AWS region configured (set region_name or AWS_DEFAULT_REGION)"
            ) from None
        except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as err:
            raise MwaaUnreachableError(f"{operation}: cannot reach the MWAA API: {err}") from None
        except BotoCoreError as err:
            raise MwaaError(f"{operation} failed: {err}") from None

    # --- tokens --------------------------------------------------------------------------

    def _fresh_token(self) -> _Token:
        """A token with more than ``token_margin`` seconds left; a new one only when needed."""
        with self._token_lock:
            token = self._token
            if (
                token is not None
                and time.monotonic() - token.requested_at < self.token_lifetime - self.token_margin
            ):
                return token
            requested_at = time.monotonic()
            self.stats.add(token_calls=1)
            response = self._call_api(
                "CreateCliToken", self.mwaa_client.create_cli_token, Name=self.environment_name
            )
            value, hostname = response.get("CliToken"), response.get("WebServerHostname")
            if not value or not hostname:
                raise MwaaProtocolError("CreateCliToken answered without CliToken or WebServerHostname")
            self._token = _Token(str(value), str(hostname), requested_at)
            return self._token

    def _drop_token(self, token: _Token) -> None:
        with self._token_lock:
            if self._token is token:
                self._token = None

    # --- commands ------------------------------------------------------------------------

    def run(
        self,
        command: commands.AirflowCommand | str | Sequence[str],
        *,
        check: bool = True,
        timeout: float | None = None,
    ) -> CliResult:
        """Run one Airflow CLI command in the environment and return its decoded output.

        The command is checked against what MWAA accepts for the environment's Airflow
        version before any token is requested.

        :param command: an :class:`~airflow_mwaa_extras.mwaa.commands.AirflowCommand` (from the
            builders), or a command line / argument vector as a user typed it
        :param check: raise :class:`MwaaCliError` when the output says the command failed
        :param timeout: seconds to wait for this command (default: the client's ``timeout``)
        :raises UnsupportedCommandError: MWAA does not run this command for that version
        :raises MwaaCliError: the command ran and failed (``.stderr`` holds its error output)
        :raises MwaaCommandMayHaveRunError: a command that changes something may have run, and
            the answer was lost (500/502/504, broken connection, timeout)
        """
        cmd = command if isinstance(command, commands.AirflowCommand) else commands.raw(command)
        # before GetEnvironment: no call at all for a hopeless command
        commands.check_known(cmd, allow_unlisted=self.allow_unlisted)
        commands.check_supported(cmd, self.airflow_version, allow_unlisted=self.allow_unlisted)
        self._follow_web_servers()
        line = cmd.to_shell()
        shown = cmd.display()
        stdout, stderr, attempts = self._send(line, shown, cmd.mutating, timeout)
        self.stats.add(commands=1)
        result = CliResult(command=shown, stdout=stdout, stderr=stderr, attempts=attempts, expect=cmd.expect)
        if check and result.failed:
            raise MwaaCliError(shown, stderr, stdout, self.environment_name)
        return result

    def _send(self, line: str, shown: str, mutating: bool, timeout: float | None) -> tuple[str, str, int]:
        refreshed = False
        retries = 0
        attempts = 0
        last_problem = ""
        while True:
            attempts += 1
            with self._semaphore:
                # The token is taken only once it is this command's turn: a command that waited
                # behind slow ones must not send a token that aged (or expired) while it waited.
                token = self._fresh_token()
                age = time.monotonic() - token.requested_at
                with self.stats._lock:
                    self.stats.max_token_age_at_send = max(self.stats.max_token_age_at_send, age)
                self.stats.add(http_requests=1)
                status, body, problem, maybe_ran = self._post(token, line, shown, timeout)
            if status == 200:
                return (*decode_cli_response(body), attempts)
            if status in (401, 403):
                self.stats.add(http_401_403=1)
                self._drop_token(token)
                if refreshed:
                    raise MwaaAccessDeniedError(
                        f"the web server of {self.environment_name} refused a fresh CLI token (HTTP {status})"
                    )
                refreshed = True
                continue
            if status == 503:
                self.stats.add(http_503=1)
            # 503/429 (MWAA's busy limit) and a connection that never opened cannot have run it.
            not_run = status in (503, 429) or (status is None and not maybe_ran)
            if status == 500 and self.allow_unlisted:
                problem = "HTTP 500: MWAA answers 500 for a command it does not run, and for a failure"
            if not not_run and (maybe_ran or (status is not None and status >= 500)):
                if mutating:
                    raise MwaaCommandMayHaveRunError(
                        shown, self.environment_name, problem or f"HTTP {status}"
                    )
            elif status is not None and not not_run:
                snippet = body[:200].decode("utf-8", errors="replace").strip()
                raise MwaaProtocolError(
                    f"the CLI endpoint of {self.environment_name} answered HTTP {status} to "
                    f"{command_head(shown)}: {snippet}"
                )
            last_problem = problem or f"HTTP {status}"
            if retries + 1 >= self.max_attempts:
                break
            retries += 1
            self.stats.add(retries=1)
            time.sleep(self._backoff(retries))
        if last_problem.startswith("HTTP 503") or last_problem.startswith("HTTP 429"):
            raise MwaaThrottledError(
                f"{self.environment_name} stayed busy ({last_problem}) after {attempts} attempts "
                f"to run {command_head(shown)}"
            )
        raise MwaaUnreachableError(
            f"cannot run {command_head(shown)} in {self.environment_name} after {attempts} attempts: {last_problem}"
        )

    def _backoff(self, retry: int) -> float:
        ceiling: float = min(self.backoff_max, self.backoff_base * 2.0 ** (retry - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # equal jitter

    def _post(
        self, token: _Token, line: str, shown: str, timeout: float | None
    ) -> tuple[int | None, bytes, str, bool]:
        """One POST: ``(status, body, problem, maybe_ran)``.

        ``status`` is None when no answer came: ``maybe_ran`` is False when the connection never
        opened (nothing was sent), True when it broke or timed out after the command was sent.
        """
        base = web_server_base_url(token.hostname)
        parts = urlsplit(base)
        wait = self._request_timeout(timeout)
        proxy = proxy_for(parts.netloc) if parts.scheme == "https" else None
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(
                proxy or parts.netloc, timeout=self.connect_timeout, context=ssl.create_default_context()
            )
            if proxy:
                conn.set_tunnel(parts.netloc)  # CONNECT through HTTPS_PROXY
        else:
            conn = http.client.HTTPConnection(parts.netloc, timeout=self.connect_timeout)
        try:
            try:
                conn.connect()
            except OSError as err:
                # Nothing was sent: safe to retry.
                via = f" through the proxy {proxy}" if proxy else ""
                return None, b"", f"cannot connect to {parts.netloc}{via}: {err}", False
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
                return response.status, response.read(), "", False
            except TimeoutError:
                # The command may have started: resending could run it twice.
                return None, b"", f"no answer within {wait:g} s", True
            except (OSError, http.client.HTTPException) as err:
                return None, b"", f"the connection to {parts.netloc} broke: {err}", True
        finally:
            conn.close()

    def _request_timeout(self, timeout: float | None) -> float:
        wait = self.timeout if timeout is None else float(timeout)
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise MwaaUnreachableError(f"no time left to run a command in {self.environment_name}")
            wait = min(wait, left)
        return wait


def _client_error(err: Any, operation: str, environment: str) -> MwaaError:
    error = err.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")).strip() or code
    if (
        code == "ResourceNotFoundException"
        or err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404
    ):
        return MwaaEnvironmentNotFoundError(
            f"no MWAA environment named {environment!r} ({operation}: {message})"
        )
    if code in _ACCESS_DENIED_CODES:
        return MwaaAccessDeniedError(f"{operation} on {environment} was denied: {message}")
    if code in _THROTTLED_CODES:
        return MwaaThrottledError(f"{operation} on {environment} was throttled: {message}")
    return MwaaError(f"{operation} on {environment} failed ({code}): {message}")


def create_mwaa_client(
    *,
    region_name: str | None = None,
    endpoint_url: str | None = None,
    session: Any = None,
    connect_timeout: float = 10.0,
    read_timeout: float = 60.0,
) -> Any:
    """A boto3 ``mwaa`` client with timeouts and no botocore retries (the callers retry).

    For a loopback endpoint (the local stand-in) botocore must not prepend the ``env.`` /
    ``api.`` host prefixes of the MWAA API model (``env.127.0.0.1`` does not resolve).

    :param session: a boto3 Session (e.g. from an Airflow hook); a default one when None
    """
    import boto3

    # imported here: botocore_config reads this module's loopback rule
    from airflow_mwaa_extras.mwaa.botocore_config import mwaa_client_config

    config = mwaa_client_config(
        endpoint_url=endpoint_url, connect_timeout=connect_timeout, read_timeout=read_timeout
    )
    session = session or boto3.session.Session()
    return session.client("mwaa", region_name=region_name, endpoint_url=endpoint_url, config=config)
