"""The sample project's DAG: a requirement, a plugin module, the startup script's variable and a
configuration option, all checked when `mwaa-extras local test examples/local_project local_sample` runs it."""

from __future__ import annotations

import os

import pendulum
import xmltodict  # from requirements.txt
from sample_helpers import shout  # from plugins/

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task

with DAG(
    dag_id="local_sample",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example"],
):

    @task
    def check() -> str:
        assert os.environ["ENVIRONMENT_STAGE"] == "dev", "startup.sh's export did not reach the task"
        assert os.environ["AIRFLOW__CORE__DEFAULT_TASK_RETRIES"] == "0", "configuration option missing"
        return shout(xmltodict.parse("<greeting>hello</greeting>")["greeting"])

    check()
