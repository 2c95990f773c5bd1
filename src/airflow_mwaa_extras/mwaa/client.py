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

This module holds the client and its policy (what to resend, when to refresh a token); its
parts live next to it: :mod:`~airflow_mwaa_extras.mwaa.cli_endpoint` (the token cache and one
POST), :mod:`~airflow_mwaa_extras.mwaa.cli_output` (decoding the answer, judging failure),
:mod:`~airflow_mwaa_extras.mwaa.web_server_urls` (http only to loopback, proxies),
:mod:`~airflow_mwaa_extras.mwaa.api_errors` (botocore errors) and
:mod:`~airflow_mwaa_extras.mwaa.boto_client` (the boto3 client). It is over 350 lines because
the client's one job, the resend policy, is documented where it is decided; the parameter list
and the retry loop are that policy.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.mwaa import commands
from airflow_mwaa_extras.mwaa.airflow_command import AirflowCommand
from airflow_mwaa_extras.mwaa.api_errors import call_mwaa_api
from airflow_mwaa_extras.mwaa.boto_client import EnvironmentApiClient
from airflow_mwaa_extras.mwaa.cli_endpoint import TokenCache, environment_semaphore, post_command
from airflow_mwaa_extras.mwaa.cli_output import decode_cli_response, output_failed
from airflow_mwaa_extras.mwaa.counters import Counters
from airflow_mwaa_extras.mwaa.errors import (
    MwaaAccessDeniedError,
    MwaaCliError,
    MwaaCommandMayHaveRunError,
    MwaaProtocolError,
    MwaaThrottledError,
    MwaaUnreachableError,
    command_head,
)
from airflow_mwaa_extras.mwaa.supported_commands import allow_unlisted_from_env, check_known, check_supported
from airflow_mwaa_extras.mwaa.web_server_urls import login_path, web_server_base_url

# The names the docs import from here; the rest of the CLI machinery lives in the modules above.
__all__ = ["CliResult", "ClientStats", "MwaaEnvironmentClient"]

log = logging.getLogger(__name__)
TOKEN_LIFETIME_SECONDS = 60.0
MAX_CONCURRENCY = 4  # what MWAA's web server runs at a time


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
    #: what the command prints on success (see :attr:`AirflowCommand.expect`)
    expect: str = ""

    @property
    def failed(self) -> bool:
        """Whether the output says the command failed (:func:`~airflow_mwaa_extras.mwaa.cli_output.output_failed`)."""
        return output_failed(AirflowCommand((), expect=self.expect), self.stdout, self.stderr)

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
class ClientStats(Counters):
    """Counters for one client: what it cost to run the commands so far."""

    commands: int = 0
    token_calls: int = 0
    http_requests: int = 0
    http_503: int = 0
    http_401_403: int = 0
    retries: int = 0
    #: the oldest token age (seconds since it was requested) at the moment a request was sent
    max_token_age_at_send: float = 0.0


class MwaaEnvironmentClient(EnvironmentApiClient):
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
    :param clock: the monotonic clock that ages tokens and measures ``deadline``
        (``time.monotonic``; tests pass a clock they move by hand)
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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            environment_name,
            mwaa_client,
            region_name,
            endpoint_url or os.environ.get("AWS_ENDPOINT_URL_MWAA") or None,
            connect_timeout=connect_timeout,
            read_timeout=timeout,
        )
        self.connect_timeout = float(connect_timeout)
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
        self.max_concurrency = int(max_concurrency)
        self.allow_unlisted = allow_unlisted_from_env() if allow_unlisted is None else allow_unlisted
        self.timeout = float(timeout)
        #: ``clock()`` (``time.monotonic()``) after which no request may wait (e.g. a Lambda function's end)
        self.deadline: float | None = None
        self.max_attempts = int(max_attempts)
        self.token_lifetime = float(token_lifetime)
        self.token_margin = float(token_margin)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.stats = ClientStats()
        self._airflow_version = airflow_version
        self._environment: dict[str, Any] | None = None
        self.clock = clock
        self._tokens = TokenCache(
            self._create_cli_token, lifetime=self.token_lifetime, margin=self.token_margin, clock=clock
        )
        self._where = self.endpoint_url or region_name or os.environ.get("AWS_DEFAULT_REGION") or ""
        self._semaphore = environment_semaphore(self._where, environment_name, self.max_concurrency)

    # --- the MWAA API --------------------------------------------------------------------

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
        self._semaphore = environment_semaphore(self._where, self.environment_name, limit)

    def _call_api(self, operation: str, method: Any, **kwargs: Any) -> dict[str, Any]:
        """One control-plane call (idempotent: tokens, GetEnvironment), the only retry layer for
        it: botocore's own retries are off (``total_max_attempts=1``)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return call_mwaa_api(operation, method, self.environment_name, **kwargs)
            except (MwaaThrottledError, MwaaUnreachableError):
                if attempt >= self.max_attempts:
                    raise
            time.sleep(self._backoff(attempt))

    # --- tokens --------------------------------------------------------------------------

    def _create_cli_token(self) -> tuple[str, str]:
        self.stats.add(token_calls=1)
        response = self._call_api(
            "CreateCliToken", self.mwaa_client.create_cli_token, Name=self.environment_name
        )
        value, hostname = response.get("CliToken"), response.get("WebServerHostname")
        if not value or not hostname:
            raise MwaaProtocolError("CreateCliToken answered without CliToken or WebServerHostname")
        return str(value), str(hostname)

    # --- commands ------------------------------------------------------------------------

    def run(
        self,
        command: AirflowCommand | str | Sequence[str],
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
        cmd = command if isinstance(command, AirflowCommand) else commands.raw(command)
        # before GetEnvironment: no call at all for a hopeless command
        check_known(cmd, allow_unlisted=self.allow_unlisted)
        check_supported(cmd, self.airflow_version, allow_unlisted=self.allow_unlisted)
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
                token, _fetched = self._tokens.fresh()
                self.stats.raise_to(max_token_age_at_send=self._tokens.age(token))
                self.stats.add(http_requests=1)
                sent = post_command(
                    token, line, connect_timeout=self.connect_timeout, wait=self._request_timeout(timeout)
                )
            status, body, problem, maybe_ran = sent.status, sent.body, sent.problem, sent.maybe_ran
            if status == 200:
                return (*decode_cli_response(body), attempts)
            if status in (401, 403):
                self.stats.add(http_401_403=1)
                self._tokens.drop(token)
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

    def _request_timeout(self, timeout: float | None) -> float:
        wait = self.timeout if timeout is None else float(timeout)
        if self.deadline is not None:
            left = self.deadline - self.clock()
            if left <= 0:
                raise MwaaUnreachableError(f"no time left to run a command in {self.environment_name}")
            wait = min(wait, left)
        return wait
