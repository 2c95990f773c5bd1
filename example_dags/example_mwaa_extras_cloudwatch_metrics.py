"""Publish this worker's resources to CloudWatch in one batched PutMetricData request.

With ``[mwaa_extras] task_metrics_enabled = True`` the task metrics listener also publishes
``TaskDuration`` and ``TaskInstanceFinished`` for this run's task. The ``Environment`` dimension
comes from ``AIRFLOW_ENV_NAME``, which MWAA sets; CloudWatch is reached through ``aws_default``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow_mwaa_extras.operators.worker_metrics import WorkerMetricsOperator
from airflow_mwaa_extras.version_compat import DAG

with DAG(
    dag_id="example_mwaa_extras_cloudwatch_metrics",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "mwaa-extras", "cloudwatch"],
    default_args={"retries": 0, "execution_timeout": timedelta(minutes=2)},
) as dag:
    WorkerMetricsOperator(
        task_id="publish_worker_metrics",
        namespace="MWAA-Custom",
        cpu_interval=0.5,
    )
