"""A real Airflow scheduler for a local Airflow home, so DAG runs created remotely actually run.

Airflow 2: ``airflow scheduler`` (it parses the DAG folder itself). Airflow 3: ``airflow
scheduler`` and ``airflow dag-processor``; task processes talk to the Task Execution API, so the
home's local REST API must be started with ``with_execution_api=True`` and passed here.
Use PostgreSQL homes for ``LocalExecutor`` (forked task processes, seconds per task); on SQLite
Airflow 2 falls back to ``SequentialExecutor``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_mwaa_extras.exceptions import MwaaExtrasError

if TYPE_CHECKING:
    from airflow_mwaa_extras.testing.airflow_home import AirflowHome
    from airflow_mwaa_extras.testing.local_rest_api import LocalRestApi


class LocalSchedulerError(MwaaExtrasError):
    """The local scheduler could not be started."""


@dataclass
class LocalScheduler:
    """Running scheduler processes of one home; :meth:`stop` ends them."""

    processes: list[subprocess.Popen[bytes]]
    log_paths: list[Path]
    _stopped: bool = field(default=False, repr=False)

    def running(self) -> bool:
        return all(p.poll() is None for p in self.processes)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)

    def logs(self) -> str:
        """The tail of every process log (for failure messages)."""
        return "\n".join(p.read_text(errors="replace")[-1500:] for p in self.log_paths if p.exists())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scheduler_env(home: AirflowHome, rest_api: LocalRestApi | None = None) -> dict[str, str]:
    """The variables the scheduler processes of ``home`` need on top of the home's own."""
    from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_1_PLUS

    pg = home.sql_alchemy_conn.startswith("postgresql")
    env = {
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
        "AIRFLOW__CORE__PARALLELISM": "4",
        # the log server of every local scheduler would otherwise fight over port 8793
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        # Airflow 2's SequentialExecutor starts `airflow tasks run` by name: this interpreter's
        # `airflow` must come first on PATH, also when the caller's venv is not activated.
        "PATH": os.pathsep.join(
            p for p in (os.path.dirname(sys.executable), os.environ.get("PATH", "")) if p
        ),
    }
    if AIRFLOW_V_3_0_PLUS:
        if rest_api is None:
            raise LocalSchedulerError(
                "Airflow 3 tasks need the Task Execution API: pass the home's local REST API"
            )
        env["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"
        env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"{rest_api.root_url}/execution/"
        env["AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL"] = "5"
        # A task's calls to the Task Execution API time out after 5 s by default, and a timed
        # out ``PATCH .../run`` that the server did apply ends the task (its retry gets HTTP
        # 409). The API server here shares 2 busy cores with the scheduler, the DAG processor,
        # CLI commands and the tests; give it the time it needs. Airflow 3.0 (MWAA 3.0.6) has
        # no such option (httpx's 5 s, fixed): there the warm-up of the API is all we can do.
        if AIRFLOW_V_3_1_PLUS:
            env["AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT"] = "60"
    else:
        env["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor" if pg else "SequentialExecutor"
        env["AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL"] = "5"
    return env


def start_local_scheduler(home: AirflowHome, rest_api: LocalRestApi | None = None) -> LocalScheduler:
    """Start the scheduler (and, on Airflow 3, the DAG processor) of ``home``.

    :param home: the local Airflow home
    :param rest_api: its local REST API started with ``with_execution_api=True`` (Airflow 3)
    """
    from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS

    env = home.full_env(scheduler_env(home, rest_api))
    commands = [["scheduler"]]
    if AIRFLOW_V_3_0_PLUS:
        commands.append(["dag-processor"])
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    for args in commands:
        log_path = home.path / "logs" / f"local-{args[0]}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "airflow", *args],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            )
        logs.append(log_path)
    return LocalScheduler(processes, logs)
