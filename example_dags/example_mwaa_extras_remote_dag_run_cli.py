"""Trigger a DAG in another MWAA environment over its CLI endpoint, then wait with a sensor.

Works on every MWAA version (no InvokeRestApi needed). The trigger is retry-safe; the sensor
fails this DAG when the remote run fails, naming the remote failed tasks.

Environment variables (read at parse time, no network): ``MWAA_EXTRAS_REMOTE_ENVIRONMENT`` (the
other environment's name), ``MWAA_EXTRAS_EXAMPLE_DEFERRABLE`` (``true`` to wait in the
triggerer). The remote DAG's conf comes from this run's conf key ``remote_conf``.
IAM: ``airflow:CreateCliToken`` and ``airflow:GetEnvironment`` on the other environment.
"""

from __future__ import annotations

import datetime
import os

from airflow_mwaa_extras.operators.remote_dag_run import MwaaTriggerRemoteDagRunOperator
from airflow_mwaa_extras.sensors.remote_dag_run import MwaaRemoteDagRunSensor
from airflow_mwaa_extras.version_compat import DAG

REMOTE_ENVIRONMENT = os.environ.get("MWAA_EXTRAS_REMOTE_ENVIRONMENT", "my-other-environment")
DEFERRABLE = os.environ.get("MWAA_EXTRAS_EXAMPLE_DEFERRABLE", "false").lower() == "true"

with DAG(
    dag_id="example_mwaa_extras_remote_dag_run_cli",
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "mwaa-extras", "cross-environment"],
):
    trigger = MwaaTriggerRemoteDagRunOperator(
        task_id="trigger",
        environment_name=REMOTE_ENVIRONMENT,
        remote_dag_id="example_mwaa_extras_remote_target",
        conf="{{ (dag_run.conf or {}).get('remote_conf', {}) | tojson }}",
        transport="cli",
    )
    wait = MwaaRemoteDagRunSensor(
        task_id="wait",
        environment_name=REMOTE_ENVIRONMENT,
        remote_dag_id="example_mwaa_extras_remote_target",
        run_id="{{ ti.xcom_pull(task_ids='trigger', key='remote_run_id') }}",
        transport="cli",
        deferrable=DEFERRABLE,
        mode="reschedule",
        poke_interval=5,
        timeout=1800,
    )
    trigger >> wait
