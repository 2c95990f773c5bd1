"""The one second "MWAA environment" of the test session: the remote side of every remote test.

A real Airflow home (PostgreSQL when ``MWAA_EXTRAS_TEST_PG_DSN`` is set, else SQLite) whose dags
folder holds one target DAG, ``example_mwaa_extras_remote_target`` (:data:`TARGET`, echoes its
conf, fails on ``{"fail": true}``), a copy of it that is paused (:data:`PAUSED`), and a DAG file
that fails to import (real environments often hold one; it must not get in the way). The DAGs
are registered once (``airflow dags reserialize``, 10-30 s), so the home is made once per
session, on first use; its REST API is started on first use too, and a scheduler only by the
tests that need runs to execute (:meth:`RemoteEnv.scheduler`, stopped again by the caller).
Without a scheduler a triggered run stays queued.

Used through the session fixture ``remote_env`` (registered in ``tests/conftest.py``). Loaded as a
pytest plugin before the session's AIRFLOW_HOME is set: nothing here imports Airflow at import time.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from airflow_mwaa_extras.testing.airflow_home import AirflowHome, create_airflow_home
from airflow_mwaa_extras.testing.mwaa_standin_target import run_conf

#: why the InvokeRestApi tests skip: MWAA 2.9.2 and 2.10.3 (and their test environments here) ship
#: a botocore without the operation
NO_INVOKE_REST_API = f"botocore {importlib.metadata.version('botocore')} has no InvokeRestApi"

if TYPE_CHECKING:
    from airflow_mwaa_extras.testing.local_rest_api import LocalRestApi
    from airflow_mwaa_extras.testing.local_scheduler import LocalScheduler

EXAMPLE_DAGS = Path(__file__).resolve().parent.parent / "example_dags"
TARGET = "example_mwaa_extras_remote_target"
PAUSED = "paused_target"

# Airflow parses only files that mention both "airflow" and "dag" (safe mode).
BROKEN_DAG = (
    "from airflow import DAG  # an unrelated DAG file that fails to import\n"
    "import this_module_does_not_exist\n"
)


class RemoteEnv:
    """The remote environment's home, and its REST API and scheduler when asked for."""

    def __init__(self, root: Path) -> None:
        dags = root / "dags"
        dags.mkdir(parents=True)
        shutil.copy(EXAMPLE_DAGS / f"{TARGET}.py", dags)
        source = (EXAMPLE_DAGS / f"{TARGET}.py").read_text()
        paused = source.replace(f'"{TARGET}"', f'"{PAUSED}"').replace(
            "catchup=False,", "catchup=False,\n    is_paused_upon_creation=True,"
        )
        assert "is_paused_upon_creation=True" in paused, "the target DAG's source changed: update this copy"
        (dags / f"{PAUSED}.py").write_text(paused)
        (dags / "broken_unrelated_dag.py").write_text(BROKEN_DAG)
        # PostgreSQL lets Airflow 2 use the LocalExecutor (forked tasks, seconds each); on Airflow 3
        # it spares the API server, the scheduler, the DAG processor and the CLI commands one
        # SQLite file's lock.
        self.home: AirflowHome = create_airflow_home(
            root / "home",
            dags_folder=dags,
            pg_dsn=os.environ.get("MWAA_EXTRAS_TEST_PG_DSN") or None,
            extra_env={"AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False"},
        )
        self.home.airflow("dags", "reserialize")
        self._api: LocalRestApi | None = None
        self._served_as: set[str] = set()

    def rest_api(self) -> LocalRestApi:
        """The home's REST API (started on the first call; on Airflow 3 it also serves the Task
        Execution API a scheduler's tasks need). Stand-ins only forget it when they stop."""
        if self._api is None:
            from airflow_mwaa_extras.testing.local_rest_api import start_local_rest_api
            from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS

            self._api = start_local_rest_api(self.home, with_execution_api=AIRFLOW_V_3_0_PLUS)
        return self._api

    def serve_as(self, environment_name: str) -> LocalRestApi:
        """Let the MWAA stand-in answer InvokeRestApi for ``environment_name`` with this REST API."""
        from airflow_mwaa_extras.testing.standin_rest_api import register_local_rest_api

        api = self.rest_api()
        register_local_rest_api(environment_name, self.home, api)
        self._served_as.add(environment_name)
        return api

    def scheduler(self) -> LocalScheduler:
        """A scheduler that runs the home's DAG runs; the caller stops it.

        Runs other tests left queued are failed first, so the scheduler spends its time on the
        caller's runs only.
        """
        from airflow_mwaa_extras.testing.local_scheduler import start_local_scheduler

        api = self.rest_api()
        # PAUSED's runs never run (the scheduler skips a paused DAG): tests keep some queued.
        listed = api.get_json(f"/dags/{TARGET}/dagRuns", {"limit": 100, "state": "queued"})
        for run in listed["dag_runs"]:
            status, body = api.request(
                "PATCH", f"/dags/{TARGET}/dagRuns/{run['dag_run_id']}", body={"state": "failed"}
            )
            assert status == 200, body
        return start_local_scheduler(self.home, api)

    def conf_of(self, dag_id: str, run_id: str) -> object:
        """The conf the home stored for a run (``None`` when there is no such run)."""
        return run_conf(self.home, dag_id, run_id)

    def close(self) -> None:
        from airflow_mwaa_extras.testing.standin_rest_api import stop_local_rest_apis

        for name in self._served_as:
            stop_local_rest_apis(name)
        if self._api is not None:
            self._api.stop()
        self.home.cleanup()


@pytest.fixture(scope="session")
def remote_env() -> Iterator[RemoteEnv]:
    root = Path(tempfile.mkdtemp(prefix="mwaa-extras-remote-"))
    env = RemoteEnv(root)
    try:
        yield env
    finally:
        env.close()
        shutil.rmtree(root, ignore_errors=True)
