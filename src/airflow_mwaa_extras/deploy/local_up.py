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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError

from airflow_mwaa_extras.deploy.local_test import Prepared, metadata_db
from airflow_mwaa_extras.exceptions import MwaaExtrasError

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
        server = ["api-server", "--host", "127.0.0.1", "--port", str(port)]
        return [["scheduler", "--skip-serve-logs"], ["dag-processor"], server], env
    env["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"
    server = ["webserver", "--hostname", "127.0.0.1", "--port", str(port), "--workers", "1"]
    # --skip-serve-logs: its log server binds every interface; the UI reads the local files anyway
    return [["scheduler", "--skip-serve-logs"], server], env


def start(prepared: Prepared, port: int) -> Running:
    """Start every process; return once the web server answers."""
    metadata_db(prepared)
    major = _airflow_major(prepared)
    airflow = str(prepared.env.bin / "airflow")
    commands, extra = _commands(prepared, port, major)
    prepared.airflow_env.update(extra)
    if major < 3:
        password = secrets.token_urlsafe(12)
        args = ["users", "create", "--username", "admin", "--password", password, "--role", "Admin"]
        args += ["--email", "admin@example.com", "--firstname", "local", "--lastname", "admin"]
        subprocess.run(
            [airflow, *args], env=prepared.airflow_env, capture_output=True, check=True, timeout=300
        )
        print(f"log in as admin / {password}", flush=True)
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


def serve(prepared: Prepared, port: int) -> int:
    """Start everything, print the URL, and wait for Ctrl-C (or a process that dies)."""
    with stop_on_signals() as stopping:
        running = start(prepared, port)
        try:
            print(
                f"Airflow is up: {running.url}  (Ctrl-C stops everything; logs in {running.logs})", flush=True
            )
            while not stopping.wait(1):
                dead = [p for p in running.processes if p.poll() is not None]
                if dead:
                    print(f"{_name(dead[0])} exited {dead[0].returncode}; stopping", flush=True)
                    return 1
            print("stopping ...", flush=True)
            return 0
        finally:
            stop(running)
