"""A local stand-in for Amazon MWAA: its API and its web server's CLI endpoint, on 127.0.0.1.

One HTTP server answers, for boto3 pointed at it with ``endpoint_url`` (or
``AWS_ENDPOINT_URL_MWAA``):

- ``CreateCliToken``, ``CreateWebLoginToken``, ``GetEnvironment``, ``ListEnvironments``
  (``AirflowVersion`` is the local Airflow's, the web server host name is this server);
- ``InvokeRestApi``, handed to :mod:`airflow_mwaa_extras.testing.standin_rest_api`;
- ``POST /aws_mwaa/cli``: the command line is split like a shell would, checked against the
  commands MWAA accepts, and run with the real ``airflow`` CLI in the environment's own Airflow
  home (in a process forked from one that has imported Airflow's CLI already, see
  :mod:`~airflow_mwaa_extras.testing.airflow_cli_server`; ``warm_cli=False`` starts
  ``python -m airflow`` per command instead); stdout and stderr come back base64-encoded in JSON;
- ``GET /aws_mwaa/aws-console-sso?login=true#TOKEN``: a page naming the environment.

It behaves like MWAA where it matters to a client, rough edges included ("strict MWAA", the
default; ``strict=False`` is an opt-in for the few tests that need a quiet stand-in):

- tokens expire (60 s by default; a parameter so tests need not wait);
- a CLI command takes at least ``cli_latency`` seconds (default 0: as long as the local command
  takes), holding its slot meanwhile, like MWAA's one to several seconds per command (a process
  start on the web server); benchmarks set it, e.g. 1.5;
- the CLI endpoint runs at most four commands per environment at a time and answers 503 beyond
  that; a command still running after ``proxy_timeout`` seconds gets 504 while it keeps running;
- a command MWAA does not list for the version gets HTTP 500 (the stand-in's own table,
  :mod:`~airflow_mwaa_extras.testing.standin_commands`, never the client's);
- strict: stderr carries what real MWAA environments print around a command: log records in the
  older ``{{file:line}}`` format, and an ERROR record from a command that succeeded;
- faults on purpose, per environment and command (:mod:`~airflow_mwaa_extras.testing.standin_faults`;
  ``"InvokeRestApi POST"`` names InvokeRestApi calls);
- the web login page is ``/aws_mwaa/aws-console-sso`` on Airflow 2 and
  ``/pluginsv2/aws_mwaa/aws-console-sso`` on Airflow 3;
- InvokeRestApi maps the caller's access key to an Airflow role (``rest_api_roles``, default
  ``Admin``): no role is ``AccessDeniedException``, a Viewer that writes gets a 403 inside
  ``RestApiClientException``; about 10 calls a second per environment (``ThrottlingException``
  beyond), and answers over 6 MB are refused;
- an unknown environment is a ``ResourceNotFoundException``.

Signatures are not checked, but requests signed with an access key listed in
``denied_access_keys`` get ``AccessDeniedException`` (to exercise missing IAM permissions).

Run it for your own local Airflow homes::

    python -m airflow_mwaa_extras.testing.mwaa_standin --env dev=$HOME/airflow --env prod=/tmp/prod-home

and export the variables it prints; then ``mwaa-extras run dev -- dags list`` works locally.

About 460 lines, one job (the state of one MWAA stand-in: environments, tokens, CLI slots,
faults, and running a command); the HTTP routes are :mod:`~airflow_mwaa_extras.testing.standin_http`,
and the command table, faults, REST roles and the REST handling live in other ``standin_*`` modules.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import secrets
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError
from airflow_mwaa_extras.mwaa.counters import Counters
from airflow_mwaa_extras.testing import standin_commands, standin_rest_api
from airflow_mwaa_extras.testing.airflow_cli_server import AirflowCliServer, AirflowCliServerError
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.standin_faults import Fault, FaultPlan
from airflow_mwaa_extras.testing.standin_http import ACCOUNT, handler_for
from airflow_mwaa_extras.testing.standin_rest_roles import RestApiGate
from airflow_mwaa_extras.version_compat import AIRFLOW_VERSION

REGION = "us-east-1"
log = logging.getLogger(__name__)
MAX_CONCURRENT_COMMANDS = 4


class MwaaStandinError(MwaaExtrasError):
    """The MWAA stand-in could not start or was given an unusable environment."""


@dataclass
class StandinStats(Counters):
    """What the stand-in saw (for tests and benchmarks)."""

    token_calls: int = 0
    cli_requests: int = 0
    cli_expired_token: int = 0
    cli_bad_token: int = 0
    cli_503: int = 0
    cli_500_unsupported: int = 0
    cli_504: int = 0
    commands_run: int = 0
    rest_api_calls: int = 0
    rest_api_throttled: int = 0
    max_in_flight: int = 0


@dataclass
class _Environment:
    name: str
    home: AirflowHome
    airflow_version: str
    in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    cli_server: AirflowCliServer | None = None
    cli_server_failed: bool = False
    cli_server_lock: threading.Lock = field(default_factory=threading.Lock)


class MwaaStandin:
    """A running stand-in; use :func:`start_mwaa_standin`. Also a context manager.

    :ivar endpoint_url: the MWAA API endpoint (``http://127.0.0.1:PORT``)
    :ivar env: environment variables that point boto3 (and ``mwaa-extras``) at it
    :ivar stats: counters of what it saw
    """

    def __init__(
        self,
        environments: Mapping[str, AirflowHome],
        *,
        port: int = 0,
        token_lifetime: float = 60.0,
        max_concurrent_commands: int = MAX_CONCURRENT_COMMANDS,
        command_timeout: float = 600.0,
        airflow_version: str | None = None,
        region: str = REGION,
        denied_access_keys: frozenset[str] | set[str] = frozenset(),
        warm_cli: bool = True,
        strict: bool = True,
        proxy_timeout: float = 120.0,
        rest_api_roles: Mapping[str, str | None] | None = None,
        default_rest_api_role: str | None = "Admin",
        rest_api_rate: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        cli_latency: float = 0.0,
    ) -> None:
        if not environments:
            raise MwaaStandinError("the MWAA stand-in needs at least one environment")
        version = airflow_version or _local_airflow_version()
        self.environments = {name: _Environment(name, home, version) for name, home in environments.items()}
        self.token_lifetime = token_lifetime
        self.clock = clock
        self.max_concurrent_commands = max_concurrent_commands
        self.command_timeout = command_timeout
        self.warm_cli = warm_cli
        self.region = region
        self.denied_access_keys = frozenset(denied_access_keys)
        self.airflow_version = version
        self.strict = strict
        self.proxy_timeout = proxy_timeout
        if cli_latency < 0:
            raise MwaaStandinError(f"cli_latency must be at least 0 seconds, got {cli_latency}")
        self.cli_latency = float(cli_latency)
        self.faults = FaultPlan()
        self.rest_gate = RestApiGate(dict(rest_api_roles or {}), default_rest_api_role, rest_api_rate)
        self.stats = StandinStats()
        self._tokens_lock = threading.Lock()
        #: every InvokeRestApi call that reached Airflow: (method, path, answer, body) in arrival
        #: order; the answer is the remote status, then what an injected fault made of it
        self.rest_api_log: list[tuple[str, str, str, Any]] = []
        self._rest_api_log_lock = threading.Lock()
        self._cli_tokens: dict[str, tuple[str, float]] = {}
        self._web_tokens: dict[str, tuple[str, float]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(self))
        self._server.daemon_threads = True
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self.endpoint_url = f"http://{self.host}"
        self.env: dict[str, str] = {
            "AWS_ENDPOINT_URL_MWAA": self.endpoint_url,
            # botocore >= 1.36 reads this; older ones need Config(inject_host_prefix=False),
            # which MwaaEnvironmentClient sets for loopback endpoints.
            "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
            "AWS_DEFAULT_REGION": region,
            # The stand-in does not check signatures; botocore still needs something to sign with.
            "AWS_ACCESS_KEY_ID": "standin",
            "AWS_SECRET_ACCESS_KEY": "standin",
        }
        self._thread = threading.Thread(target=self._server.serve_forever, name="mwaa-standin", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving (commands still running finish in the background), and the REST APIs
        started for InvokeRestApi of this stand-in's environments."""
        self._server.shutdown()
        self._server.server_close()
        for env in self.environments.values():
            with env.cli_server_lock:
                if env.cli_server is not None:
                    env.cli_server.stop()
                    env.cli_server = None
        for name in self.environments:
            standin_rest_api.stop_local_rest_apis(name)

    def __enter__(self) -> MwaaStandin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def inject(self, fault: Fault, *, environment: str | None = None, command: str | None = None) -> None:
        """Arm ``fault`` for ``command`` (``"dags trigger"``; all when None) in ``environment``."""
        self.faults.add(fault, environment=environment, command=command)

    @property
    def login_path(self) -> str:
        """Where MWAA serves the web login page: under ``/pluginsv2/`` on Airflow 3."""
        major = int(self.airflow_version.split(".", 1)[0])
        return "/pluginsv2/aws_mwaa/aws-console-sso" if major >= 3 else "/aws_mwaa/aws-console-sso"

    def count(self, **increments: int) -> None:
        self.stats.add(**increments)

    # --- the MWAA API --------------------------------------------------------------------

    def new_token(self, kind: str, name: str) -> str:
        token = secrets.token_urlsafe(24)
        store = self._cli_tokens if kind == "cli" else self._web_tokens
        with self._tokens_lock:
            store[token] = (name, self.clock() + self.token_lifetime)
        return token

    def check_token(self, kind: str, token: str) -> tuple[str | None, str]:
        """``(environment name, "")`` for a live token, else ``(None, "expired" | "invalid")``."""
        store = self._cli_tokens if kind == "cli" else self._web_tokens
        with self._tokens_lock:
            entry = store.get(token)
        if entry is None:
            return None, "invalid"
        if self.clock() >= entry[1]:
            return None, "expired"
        return entry[0], ""

    def describe(self, env: _Environment) -> dict[str, Any]:
        return {
            "Name": env.name,
            "Arn": f"arn:aws:airflow:{self.region}:{ACCOUNT}:environment/{env.name}",
            "AirflowVersion": env.airflow_version,
            "Status": "AVAILABLE",
            "WebserverUrl": self.host,
            "WebserverAccessMode": "PUBLIC_ONLY",
            "EnvironmentClass": "mw1.small",
            "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/mwaa-standin",
            "SourceBucketArn": "arn:aws:s3:::mwaa-standin",
            "DagS3Path": "dags",
        }

    # --- the CLI endpoint ------------------------------------------------------------------

    def run_cli(self, env: _Environment, line: str) -> tuple[int, bytes]:
        """``(HTTP status, body)``; status 0 means: reset the connection without an answer."""
        command = standin_commands.command_of(line)
        if not standin_commands.supported(command, env.airflow_version):
            # MWAA answers 500, not 400, for a command it does not run.
            self.count(cli_500_unsupported=1)
            return 500, b"Internal Server Error"
        argv = shlex.split(line)
        with env.lock:
            if env.in_flight >= self.max_concurrent_commands:
                self.count(cli_503=1)
                return 503, b"Service Unavailable: too many CLI commands running"
            env.in_flight += 1
            self.stats.raise_to(max_in_flight=env.in_flight)
        fault = self.faults.take(env.name, command)
        if fault is not None and fault.before and fault.status:
            with env.lock:
                env.in_flight -= 1
            return fault.status, b"injected fault before the command ran"
        outcome = self._run_behind_proxy(env, argv, None if fault is None else fault.hold)
        if outcome is None:
            self.count(cli_504=1)
            return 504, b"Gateway Timeout"
        stdout, stderr = outcome
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.reset:
                return 0, b""
            if fault.status:
                return fault.status, b"injected fault after the command ran"
        if self.strict:
            stderr = _noise() + stderr
        body = {
            "stdout": base64.b64encode(stdout).decode("ascii"),
            "stderr": base64.b64encode(stderr).decode("ascii"),
        }
        return 200, json.dumps(body).encode()

    def _run_behind_proxy(
        self, env: _Environment, argv: list[str], hold: threading.Event | None = None
    ) -> tuple[bytes, bytes] | None:
        """The command's output, or None when it outlived ``proxy_timeout`` (it keeps running,
        and keeps its slot, like a command behind MWAA's proxy). With ``hold``, the command waits
        for that event before it starts (a fault: it is in flight for as long as a test needs)."""
        done = threading.Event()
        box: list[tuple[bytes, bytes]] = []

        def work() -> None:
            started = time.monotonic()
            try:
                if hold is not None:
                    hold.wait(self.command_timeout)
                box.append(self._run_airflow(env, argv))
                # MWAA's floor per command; the slot stays taken until then, as on MWAA
                time.sleep(max(0.0, started + self.cli_latency - time.monotonic()))
            finally:
                with env.lock:
                    env.in_flight -= 1
                self.count(commands_run=1)
                done.set()

        threading.Thread(target=work, name=f"standin-{env.name}", daemon=True).start()
        if not done.wait(self.proxy_timeout):
            return None
        return box[0] if box else (b"", b"the stand-in failed to run the command\n")

    def _run_airflow(self, env: _Environment, argv: list[str]) -> tuple[bytes, bytes]:
        """The real ``airflow`` CLI of the environment's home: stdout and stderr."""
        server = self._warm_cli_server(env)
        if server is not None:
            try:
                result = server.run(argv, timeout=self.command_timeout)
                return result.stdout, result.stderr
            except (AirflowCliServerError, OSError) as err:
                # The warm server (or this command's child) died: run this and later commands
                # the slow way rather than fail a command the environment would have run.
                log.warning(
                    "environment %s: warm CLI server failed (%s); starting airflow per command", env.name, err
                )
                with env.cli_server_lock:
                    env.cli_server_failed = True
                    if env.cli_server is server:
                        env.cli_server = None
                server.stop()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "airflow", *argv],
                env=env.home.full_env(),
                capture_output=True,
                timeout=self.command_timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as err:
            stderr = (err.stderr or b"") + f"\ncommand timed out after {self.command_timeout} s\n".encode()
            return err.stdout or b"", stderr
        return proc.stdout, proc.stderr

    def _warm_cli_server(self, env: _Environment) -> AirflowCliServer | None:
        """The environment's warm CLI server (started on first use), or None to start ``airflow``."""
        if not self.warm_cli:
            return None
        with env.cli_server_lock:
            if env.cli_server is None and not env.cli_server_failed:
                try:
                    env.cli_server = AirflowCliServer(env.home.full_env())
                except AirflowCliServerError as err:
                    # Still correct, only slower: every command starts its own `airflow` process.
                    log.warning("environment %s: %s; starting airflow per command", env.name, err)
                    env.cli_server_failed = True
            return env.cli_server


def _local_airflow_version() -> str:
    if AIRFLOW_VERSION is None:
        raise MwaaStandinError("the MWAA stand-in runs the real airflow CLI: install apache-airflow")
    return str(AIRFLOW_VERSION)


def _noise() -> bytes:
    """What MWAA's web server prints around a successful command: the older image's
    ``{{file:line}}`` log format, and an ERROR record that does not mean the command failed."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
    return (
        f"[{now}] {{{{settings.py:63}}}} INFO - Configured default timezone UTC\n"
        f"[{now}] {{{{plugins_manager.py:264}}}} ERROR - Failed to import plugin /usr/local/airflow/plugins/old.py\n"
        f"[{now}] {{{{logging_mixin.py:190}}}} WARNING - a DAG file wrote this line to stderr\n"
    ).encode()


def start_mwaa_standin(environments: Mapping[str, AirflowHome], **kwargs: Any) -> MwaaStandin:
    """Start the stand-in in a background thread of this process.

    :param environments: environment name -> the local Airflow home that plays it
    :param kwargs: ``port``, ``token_lifetime`` (60 s), ``max_concurrent_commands`` (4),
        ``command_timeout``, ``airflow_version``, ``region``, ``denied_access_keys``, ``strict``
        (True), ``proxy_timeout`` (120 s), ``rest_api_roles`` (access key -> Airflow role or
        None), ``default_rest_api_role`` ("Admin"), ``rest_api_rate`` (10 calls a second),
        ``clock`` (``time.monotonic``: what tokens expire by; tests pass a clock they move),
        ``cli_latency`` (0: the least seconds one CLI command takes; MWAA's are 1 to several)
    """
    return MwaaStandin(environments, **kwargs)


def home_from_path(path: str | Path) -> AirflowHome:
    """An existing Airflow home folder (its own ``airflow.cfg`` decides the rest)."""
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise MwaaStandinError(f"Airflow home {folder} does not exist")
    return AirflowHome(path=folder, sql_alchemy_conn="", env={"AIRFLOW_HOME": str(folder)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_mwaa_extras.testing.mwaa_standin",
        description="Serve a local stand-in for the MWAA API and CLI endpoint on 127.0.0.1.",
    )
    parser.add_argument(
        "--env",
        action="append",
        required=True,
        metavar="NAME=AIRFLOW_HOME",
        help="an environment (repeatable)",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    parser.add_argument("--token-lifetime", type=float, default=60.0, help="seconds a token lives (60)")
    parser.add_argument(
        "--cli-latency",
        type=float,
        default=0.0,
        help="the least seconds a CLI command takes (0; MWAA's take 1 to several)",
    )
    args = parser.parse_args(argv)
    homes: dict[str, AirflowHome] = {}
    for item in args.env:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            parser.error(f"--env wants NAME=AIRFLOW_HOME, got {item!r}")
        try:
            homes[name] = home_from_path(path)
        except MwaaStandinError as err:
            parser.error(str(err))
    standin = start_mwaa_standin(
        homes, port=args.port, token_lifetime=args.token_lifetime, cli_latency=args.cli_latency
    )
    print(f"MWAA stand-in on {standin.endpoint_url} for {', '.join(homes)}; export:", flush=True)
    for key, value in standin.env.items():
        print(f"export {key}={shlex.quote(value)}", flush=True)
    # SIGTERM (CI runners, process managers) stops like Ctrl-C: the warm CLI servers too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
