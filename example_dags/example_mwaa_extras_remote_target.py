"""The DAG another environment triggers in the cross-environment examples (environment B).

It echoes its conf into its log and fails when the conf asks it to (``{"fail": true}``), so the
triggering side can show both outcomes. See docs/cross-environment.md.
"""

from __future__ import annotations

import datetime

from airflow_mwaa_extras.version_compat import DAG, PythonOperator


def _work(**context: object) -> dict[str, object]:
    conf = dict(context["dag_run"].conf or {})  # type: ignore[attr-defined]
    print("conf received:", conf)
    if conf.get("fail"):
        raise ValueError("the triggering DAG asked this run to fail")
    return conf


with DAG(
    dag_id="example_mwaa_extras_remote_target",
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "mwaa-extras", "cross-environment"],
):
    work = PythonOperator(task_id="work", python_callable=_work)
    after = PythonOperator(task_id="after", python_callable=lambda: None)
    work >> after
