"""Trigger a DAG in another MWAA environment through InvokeRestApi and wait for its outcome.

Needs a botocore with InvokeRestApi (MWAA 3.x images have it; 2.10.3's botocore 1.35.36 does
not: use ``transport="auto"`` there, which falls back to the CLI endpoint). The task fails when
the remote run fails, with the remote state and failed task ids.

Environment variables (read at parse time, no network): ``MWAA_EXTRAS_REMOTE_ENVIRONMENT`` (the
other environment's name), ``MWAA_EXTRAS_EXAMPLE_DEFERRABLE`` (``true`` to wait in the
triggerer). The remote DAG's conf comes from this run's conf key ``remote_conf``.
IAM: ``airflow:InvokeRestApi`` (and ``airflow:GetEnvironment``) on the other environment.
"""

from __future__ import annotations

import datetime
import os

from airflow_mwaa_extras.operators.remote_dag_run import MwaaTriggerRemoteDagRunOperator
from airflow_mwaa_extras.version_compat import DAG, PythonOperator

REMOTE_ENVIRONMENT = os.environ.get("MWAA_EXTRAS_REMOTE_ENVIRONMENT", "my-other-environment")
DEFERRABLE = os.environ.get("MWAA_EXTRAS_EXAMPLE_DEFERRABLE", "false").lower() == "true"


def _report(**context: object) -> None:
    result = context["ti"].xcom_pull(task_ids="trigger_and_wait")  # type: ignore[attr-defined]
    print(f"remote run {result['run_id']} in {result['environment']} ended {result['state']}")


with DAG(
    dag_id="example_mwaa_extras_remote_dag_run_rest_api",
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "mwaa-extras", "cross-environment"],
):
    trigger_and_wait = MwaaTriggerRemoteDagRunOperator(
        task_id="trigger_and_wait",
        environment_name=REMOTE_ENVIRONMENT,
        remote_dag_id="example_mwaa_extras_remote_target",
        conf="{{ (dag_run.conf or {}).get('remote_conf', {}) | tojson }}",
        transport="rest_api",
        wait_for_completion=True,
        deferrable=DEFERRABLE,
        poll_interval=5,
    )
    report = PythonOperator(task_id="report", python_callable=_report)
    trigger_and_wait >> report
