"""A remote MWAA environment with one queued and one succeeded run, for the task tests.

The operator and sensor tests reach it as a task does: an ``aws`` connection, the hook, the
stand-in's CLI endpoint (``transport="cli"``: no REST API server to start, so it stays fast on
every version). The environment is the session's one (:mod:`tests.remote_envs`); the runs are
of its paused DAG, so a triggered run stays queued until the test marks it done (and no
scheduler touches it). Made once per session, like the environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.local_aws import patched_environ
from airflow_mwaa_extras.testing.mwaa_standin import MwaaStandin, start_mwaa_standin
from tests.remote_envs import PAUSED, RemoteEnv

ENV = "remote"
#: the DAG the runs belong to: paused, so no scheduler runs them
DAG_ID = PAUSED
QUEUED_RUN_ID = "mx_tasktests_queued"
SUCCEEDED_RUN_ID = "mx_tasktests_succeeded"


@dataclass
class RemoteRuns:
    standin: MwaaStandin
    home: AirflowHome
    #: a run that stays queued (the target DAG is paused)
    queued_run_id: str
    #: a run that succeeded, it and its task
    succeeded_run_id: str


def _mark_succeeded(home: AirflowHome, run_id: str) -> None:
    """What the remote scheduler would write when the run and its tasks succeeded.

    Written directly: running it (``airflow dags test``) would cost 20 s more per process.
    """
    import sqlalchemy

    engine = sqlalchemy.create_engine(home.sql_alchemy_conn)
    try:
        with engine.begin() as conn:
            for table in ("dag_run", "task_instance"):
                done = conn.execute(
                    sqlalchemy.text(
                        f"UPDATE {table} SET state = 'success' WHERE dag_id = :d AND run_id = :r"
                    ),
                    {"d": DAG_ID, "r": run_id},
                )
                assert done.rowcount >= 1, f"{table}: no rows for run {run_id}"
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def session_remote_runs(remote_env: RemoteEnv) -> Iterator[RemoteRuns]:
    # imported here: a pytest plugin module is loaded before the session's AIRFLOW_HOME is set
    from airflow_mwaa_extras.hooks.mwaa_environment import MwaaEnvironmentHook

    standin = start_mwaa_standin({ENV: remote_env.home})
    try:
        with patched_environ(standin.env):
            hook = MwaaEnvironmentHook(region_name="us-east-1")
            runs = hook.get_remote_dag_runs(ENV, transport="cli")
            for run_id in (QUEUED_RUN_ID, SUCCEEDED_RUN_ID):
                runs.trigger(DAG_ID, run_id=run_id, allow_paused=True)
        _mark_succeeded(remote_env.home, SUCCEEDED_RUN_ID)
        yield RemoteRuns(standin, remote_env.home, QUEUED_RUN_ID, SUCCEEDED_RUN_ID)
    finally:
        standin.stop()


@pytest.fixture
def remote_runs(session_remote_runs: RemoteRuns, monkeypatch: pytest.MonkeyPatch) -> RemoteRuns:
    """The remote environment's runs, with this test's ``aws`` settings pointing at its stand-in."""
    for key, value in session_remote_runs.standin.env.items():
        monkeypatch.setenv(key, value)
    return session_remote_runs
