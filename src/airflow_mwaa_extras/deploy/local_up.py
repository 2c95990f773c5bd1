"""``mwaa-extras local up``: the ``local test`` environment plus a scheduler and the web UI/API.

Airflow 2: ``airflow scheduler`` (SequentialExecutor on SQLite) and ``airflow webserver``, with
an ``admin`` user whose random password is printed. Airflow 3: ``airflow scheduler``,
``airflow dag-processor`` and ``airflow api-server`` (simple auth manager, everyone admin),
tasks reaching the Task Execution API on the same port. Everything binds 127.0.0.1. Each
process runs in its own session so that stopping it also stops what it forked (gunicorn
workers, task processes); Ctrl-C or SIGTERM stops them all.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlsplit, urlunsplit

from airflow_mwaa_extras.deploy.local_test import Prepared, metadata_db
from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError
from airflow_mwaa_extras.processes import run_captured

STOP_TIMEOUT = 30.0


@dataclass
class Running:
    url: str
    processes: list[subprocess.Popen[bytes]]
    logs: Path


def _airflow_major(prepared: Prepared) -> int:
    proc = subprocess.run(
        [
            str(prepared.env.python),
            "-c",
            "import importlib.metadata as m; print(m.version('apache-airflow'))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(proc.stdout.strip().split(".")[0])


def _commands(prepared: Prepared, port: int, major: int) -> tuple[list[list[str]], dict[str, str]]:
    env = {
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(port + 1),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
    }
    if major >= 3:
        env["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"
        env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://127.0.0.1:{port}/execution/"
        # One worker, as for the Airflow 2 webserver: with more, uvicorn's supervisor kills any
        # worker that has not answered its ping within 5 s, and on a loaded machine importing
        # Airflow takes longer, so 3.0's four workers were killed and restarted for ever.
        server = ["api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        return [["scheduler", "--skip-serve-logs"], ["dag-processor"], server], env
    env["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"
    server = ["webserver", "--hostname", "127.0.0.1", "--port", str(port), "--workers", "1"]
    # --skip-serve-logs: its log server binds every interface; the UI reads the local files anyway
    return [["scheduler", "--skip-serve-logs"], server], env


# Run with the environment's Python (MWAA's base install has psycopg2; this CLI may not).
# The DSN travels in the environment, never on a command line.
_PG_SCRIPT = """
import os, psycopg2
conn = psycopg2.connect(os.environ["MWAA_EXTRAS_PG_DSN"])
conn.autocommit = True
with conn.cursor() as cur:
    name = os.environ["MWAA_EXTRAS_PG_DATABASE"]
    if os.environ["MWAA_EXTRAS_PG_ACTION"] == "create":
        cur.execute('CREATE DATABASE "%s"' % name)
    else:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        cur.execute('DROP DATABASE IF EXISTS "%s"' % name)
"""


def pg_database(prepared: Prepared, dsn: str, database: str, action: str) -> None:
    """Create or drop ``database`` on the server of ``dsn`` (a postgresql:// URL)."""
    env = {**os.environ, "MWAA_EXTRAS_PG_DSN": dsn, "MWAA_EXTRAS_PG_DATABASE": database}
    env["MWAA_EXTRAS_PG_ACTION"] = action
    proc = run_captured([str(prepared.env.python), "-c", _PG_SCRIPT], timeout=120, env=env)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise MwaaExtrasError(f"PostgreSQL: cannot {action} database {database}: {_mask(tail, dsn)}")


def _mask(text: str, dsn: str) -> str:
    password = urlsplit(dsn).password
    return text.replace(password, "***") if password else text


def _use_postgres(prepared: Prepared, dsn: str) -> str:
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgresql", "postgres"):
        raise UsageError("--pg-dsn must be a postgresql:// URL")
    database = f"mwaa_extras_local_{uuid.uuid4().hex[:12]}"
    pg_database(prepared, dsn, database, "create")
    url = urlunsplit(("postgresql+psycopg2", parts.netloc, f"/{database}", parts.query, ""))
    prepared.airflow_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = url
    print(f"metadata DB: PostgreSQL database {database} (dropped on exit)", flush=True)
    proc = run_captured(
        [str(prepared.env.bin / "airflow"), "db", "migrate"], timeout=900, env=prepared.airflow_env
    )
    if proc.returncode != 0:
        pg_database(prepared, dsn, database, "drop")
        raise MwaaExtrasError(
            f"airflow db migrate failed on PostgreSQL: {_mask(proc.stderr.strip()[-300:], dsn)}"
        )
    return database


def _create_admin(prepared: Prepared) -> None:
    password = secrets.token_urlsafe(12)
    args = ["users", "create", "--username", "admin", "--password", password, "--role", "Admin"]
    args += ["--email", "admin@example.com", "--firstname", "local", "--lastname", "admin"]
    proc = run_captured([str(prepared.env.bin / "airflow"), *args], timeout=300, env=prepared.airflow_env)
    if proc.returncode != 0:
        raise MwaaExtrasError(f"airflow users create failed: {proc.stderr.strip()[-300:]}")
    print(f"log in as admin / {password}", flush=True)


def start(prepared: Prepared, port: int, *, postgres: bool = False) -> Running:
    """Start every process; return once the web server answers.

    :param postgres: the metadata DB is already set up on PostgreSQL (LocalExecutor on Airflow 2)
    """
    if not postgres:
        metadata_db(prepared)
    major = _airflow_major(prepared)
    airflow = str(prepared.env.bin / "airflow")
    commands, extra = _commands(prepared, port, major)
    if postgres and major < 3:
        extra["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"
    prepared.airflow_env.update(extra)
    if major < 3:
        _create_admin(prepared)
    logs = prepared.workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen[bytes]] = []
    for args in commands:
        with open(logs / f"{args[0]}.log", "ab") as log:
            processes.append(
                subprocess.Popen(
                    [airflow, *args],
                    env=prepared.airflow_env,
                    cwd=prepared.workdir,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # its own group: stop() ends what it forks too
                )
            )
    running = Running(f"http://127.0.0.1:{port}/", processes, logs)
    try:
        _wait_until_answers(running)
    except BaseException:
        stop(running)
        raise
    return running


def _wait_until_answers(running: Running, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in running.processes:
            if process.poll() is not None:
                raise MwaaExtrasError(f"{_name(process)} exited {process.returncode}; logs in {running.logs}")
        try:
            with urllib.request.urlopen(running.url, timeout=5):
                return
        except (URLError, OSError):
            time.sleep(1)
    raise MwaaExtrasError(f"the web server did not answer at {running.url} within {timeout:.0f} s")


def stop(running: Running) -> None:
    """SIGTERM to every process group, SIGKILL to what is left after the grace period."""
    for process in running.processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in running.processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for process in running.processes:
        _signal_group(process, signal.SIGKILL)  # stragglers in the group, even after the leader
        if process.poll() is None:
            process.wait(timeout=15)


def _name(process: subprocess.Popen[bytes]) -> str:
    args = process.args
    return str(args[1]) if isinstance(args, list) else str(args)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM (the previous handlers come back afterwards)."""
    event = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda *_: event.set())
    try:
        yield event
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(prepared: Prepared, port: int, pg_dsn: str | None = None) -> int:
    """Start everything, print the URL, and wait for Ctrl-C (or a process that dies).


    :param pg_dsn: a PostgreSQL server for the metadata DB; a database is created there and
        dropped on the way out
    """
    with stop_on_signals() as stopping:
        database = _use_postgres(prepared, pg_dsn) if pg_dsn else None
        try:
            return _serve(prepared, port, stopping, postgres=database is not None)
        finally:
            if pg_dsn and database:
                pg_database(prepared, pg_dsn, database, "drop")


def _serve(prepared: Prepared, port: int, stopping: threading.Event, *, postgres: bool) -> int:
    running = start(prepared, port, postgres=postgres)
    try:
        print(f"Airflow is up: {running.url}  (Ctrl-C stops everything; logs in {running.logs})", flush=True)
        while not stopping.wait(1):
            dead = [p for p in running.processes if p.poll() is not None]
            if dead:
                print(f"{_name(dead[0])} exited {dead[0].returncode}; stopping", flush=True)
                return 1
        print("stopping ...", flush=True)
        return 0
    finally:
        stop(running)
