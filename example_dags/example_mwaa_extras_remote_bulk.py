"""Bulk work in another MWAA environment: import variables, then trigger one run per item.

Both go over InvokeRestApi when botocore has it (paced under MWAA's ~10 requests a second), else
over the CLI endpoint; both are safe to retry: a retried task skips nothing it must do and
doubles nothing (variables are set to the same values; each run has a run id derived from its
item, which a retry finds). The other environment is named by the ``environment`` param
(default: ``$MWAA_EXTRAS_REMOTE_ENV`` or ``my-other-environment``); MWAA's API is reached with the
``aws_default`` connection. See docs/mwaa-client.md, "Many keys, many runs".
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from airflow_mwaa_extras.version_compat import DAG, PythonOperator, get_current_context


def _import_and_trigger() -> list[str]:
    # Imported in the task: parsing the DAG file stays free of boto3 and of network calls.
    from airflow_mwaa_extras.hooks.mwaa_environment import MwaaEnvironmentHook
    from airflow_mwaa_extras.mwaa.bulk_triggers import make_items, trigger_many
    from airflow_mwaa_extras.mwaa.dag_runs import RemoteDagRuns
    from airflow_mwaa_extras.mwaa.variables_import import import_variables

    params = get_current_context()["params"]
    environment = params["environment"]
    client = MwaaEnvironmentHook(aws_conn_id="aws_default").get_environment_client(environment)
    with tempfile.TemporaryDirectory() as folder:  # the progress file of one try
        imported = import_variables(
            environment,
            params["variables"],
            state_file=Path(folder) / "progress",
            cli_client=client,
            report=print,
        )
    print(imported.line())
    if not imported.complete:
        raise RuntimeError(imported.line())
    items = make_items(
        (f"conf {n}", {"dag_id": params["dag_id"], "conf": conf}) for n, conf in enumerate(params["confs"])
    )
    summary = trigger_many(
        RemoteDagRuns(environment, cli_client=client),
        items,
        allow_paused=params["allow_paused"],
        report=print,
    )
    print(summary.line())
    if not summary.ok:
        raise RuntimeError(summary.line())
    return [result.item.run_id for result in summary.results]  # XCom: the remote run ids


with DAG(
    dag_id="example_mwaa_extras_remote_bulk",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "mwaa-extras", "cross-environment"],
    default_args={"retries": 0, "execution_timeout": timedelta(minutes=20)},
    params={
        "environment": os.environ.get("MWAA_EXTRAS_REMOTE_ENV", "my-other-environment"),
        "variables": {"bulk_source": "example_mwaa_extras_remote_bulk", "bulk_limits": {"daily": 10}},
        "dag_id": "example_mwaa_extras_remote_target",
        "confs": [{"day": "2024-06-01"}, {"day": "2024-06-02"}],
        "allow_paused": False,
    },
):
    PythonOperator(task_id="import_and_trigger", python_callable=_import_and_trigger)
