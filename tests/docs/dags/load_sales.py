"""The DAG the docs trigger in analytics-prod (README, docs/mwaa-client.md)."""

from __future__ import annotations

import datetime

from airflow_mwaa_extras.version_compat import DAG, PythonOperator

with DAG(dag_id="load_sales", schedule=None, start_date=datetime.datetime(2024, 1, 1), catchup=False):
    PythonOperator(task_id="load", python_callable=lambda: None)
