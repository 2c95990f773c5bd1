"""The remote DAG run sensor's checks that need no remote environment (e2e tests run it for real)."""

from __future__ import annotations

import datetime

import pytest

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.sensors.remote_dag_run import MwaaRemoteDagRunSensor
from airflow_mwaa_extras.version_compat import DAG


def _sensor(**kwargs: object) -> MwaaRemoteDagRunSensor:
    with DAG("sensor_test", schedule=None, start_date=datetime.datetime(2024, 1, 1)):
        return MwaaRemoteDagRunSensor(task_id="s", **kwargs)  # type: ignore[arg-type]


def test_reschedule_mode_and_template_fields() -> None:
    sensor = _sensor(environment_name="e", remote_dag_id="d", run_id="r", mode="reschedule", poke_interval=5)
    assert sensor.mode == "reschedule"
    assert sensor.reschedule
    assert set(sensor.template_fields) == {"environment_name", "remote_dag_id", "run_id", "remote_task_id"}


def test_missing_run_id_is_a_clear_error() -> None:
    sensor = _sensor(environment_name="e", remote_dag_id="d", run_id="")
    with pytest.raises(UsageError, match="run_id are required"):
        sensor.poke({})  # type: ignore[arg-type]
