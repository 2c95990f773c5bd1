"""Run Airflow CLI commands in another MWAA environment: set a variable there, then trigger a DAG.

The other environment is named by the ``environment`` param (default: ``$MWAA_EXTRAS_REMOTE_ENV``
or ``my-other-environment``). MWAA's API is reached with the ``aws_default`` connection; the
execution role needs ``airflow:CreateCliToken`` and ``airflow:GetEnvironment`` on that environment.
See docs/mwaa-client.md.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from airflow_mwaa_extras.version_compat import DAG, PythonOperator, get_current_context


def _trigger_in_other_environment() -> str:
    # Imported in the task: parsing the DAG file stays free of boto3 and of network calls.
    from airflow_mwaa_extras.hooks.mwaa_environment import MwaaEnvironmentHook
    from airflow_mwaa_extras.mwaa import commands

    params = get_current_context()["params"]
    client = MwaaEnvironmentHook(aws_conn_id="aws_default").get_environment_client(params["environment"])
    version = client.airflow_version
    client.run(commands.variables_set("triggered_by", params["source"]))
    run_id = f"remote__{datetime.now(UTC).isoformat()}"
    client.run(
        commands.dags_trigger(params["dag_id"], airflow_version=version, conf=params["conf"], run_id=run_id)
    )
    print(f"triggered {params['dag_id']} in {params['environment']} (Airflow {version}) as {run_id}")
    return run_id  # XCom: the remote run id, for a sensor or a later task


with DAG(
    dag_id="example_mwaa_extras_remote_cli",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "mwaa-extras", "cross-environment"],
    default_args={"retries": 0, "execution_timeout": timedelta(minutes=10)},
    params={
        "environment": os.environ.get("MWAA_EXTRAS_REMOTE_ENV", "my-other-environment"),
        "dag_id": "example_mwaa_extras_remote_target",
        "conf": {"requested_by": "example_mwaa_extras_remote_cli"},
        "source": "example_mwaa_extras_remote_cli",
    },
):
    PythonOperator(task_id="trigger_in_other_environment", python_callable=_trigger_in_other_environment)
