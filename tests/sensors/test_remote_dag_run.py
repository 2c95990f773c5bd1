"""The remote DAG run sensor against a real remote environment (the MWAA stand-in's CLI endpoint).

The e2e tests run it inside DAGs, with a scheduler on the remote side; these check its
decisions one by one.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.sensors.remote_dag_run import MwaaRemoteDagRunSensor
from airflow_mwaa_extras.triggers.remote_dag_run import MwaaRemoteDagRunTrigger
from airflow_mwaa_extras.version_compat import DAG, TaskDeferred
from tests.remote_runs import DAG_ID, ENV, RemoteRuns


def _sensor(run_id: str, **kwargs: Any) -> MwaaRemoteDagRunSensor:
    with DAG("sensor_test", schedule=None, start_date=datetime.datetime(2024, 1, 1)):
        return MwaaRemoteDagRunSensor(
            task_id="wait",
            environment_name=ENV,
            remote_dag_id=DAG_ID,
            run_id=run_id,
            transport="cli",
            **kwargs,
        )


def test_poke_is_false_while_the_run_is_queued(remote_runs: RemoteRuns) -> None:
    assert _sensor(remote_runs.queued_run_id).poke({}) is False


@pytest.mark.parametrize("remote_task_id", [None, "work"], ids=["whole-run", "one-task"])
def test_poke_is_true_once_the_run_succeeded(remote_runs: RemoteRuns, remote_task_id: str | None) -> None:
    sensor = _sensor(remote_runs.succeeded_run_id, remote_task_id=remote_task_id)
    assert sensor.poke({}) is True


def test_deferrable_pokes_first_then_defers(remote_runs: RemoteRuns) -> None:
    sensor = _sensor(remote_runs.queued_run_id, deferrable=True, poke_interval=45, timeout=600)
    before = remote_runs.standin.stats.cli_requests
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    assert remote_runs.standin.stats.cli_requests == before + 1  # the poke: one `dags list-runs`
    trigger = deferred.value.trigger
    assert isinstance(trigger, MwaaRemoteDagRunTrigger)
    assert (trigger.environment_name, trigger.dag_id, trigger.run_id) == (
        ENV,
        DAG_ID,
        remote_runs.queued_run_id,
    )
    assert (trigger.poll_interval, trigger.transport) == (45.0, "cli")
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout == datetime.timedelta(seconds=600)


def test_deferrable_with_a_finished_run_succeeds_without_deferring(remote_runs: RemoteRuns) -> None:
    assert _sensor(remote_runs.succeeded_run_id, deferrable=True).execute({}) is None


def test_missing_run_id_is_a_clear_error_before_any_call() -> None:
    sensor = _sensor("")
    with pytest.raises(UsageError, match="run_id are required"):
        sensor.poke({})
