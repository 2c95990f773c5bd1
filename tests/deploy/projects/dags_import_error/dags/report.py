"""Imports a module that is not installed."""

from __future__ import annotations

import pendulum

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task

import tableau_extract_helpers  # noqa: F401

with DAG(
    dag_id="project_report",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example"],
):

    @task
    def greet() -> str:
        return "hello"

    greet()
