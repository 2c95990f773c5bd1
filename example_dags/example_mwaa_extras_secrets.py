"""Read a migrated secret through the masking hook: the value is used, never logged or returned.

Migrate first (``mwaa-extras secrets migrate``), then run this DAG. It reads the variable
``MWAA_EXTRAS_EXAMPLE_SECRET_KEY`` (default ``mwaa_extras_example_api_key``) stored under
``airflow/variables/`` through ``aws_default`` (the execution role on MWAA), and prints a line
that contains the value: the task log shows ``***`` in its place. The task returns only the
length, so nothing secret reaches XCom.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow_mwaa_extras.version_compat import DAG, PythonOperator


def use_secret(key: str, variables_prefix: str) -> int:
    """Read the secret masked, print a line containing it (shown as ***), return its length."""
    from airflow_mwaa_extras.hooks.secrets_manager import MaskedSecretsManagerHook

    hook = MaskedSecretsManagerHook(aws_conn_id="aws_default")
    value = hook.get_variable_secret(key, variables_prefix=variables_prefix)
    # Like the guide's sample, which printed the value: the task log shows *** instead.
    print(f"MWAA_EXTRAS_SECRET calling the API with key={value}")
    return len(value)


with DAG(
    dag_id="example_mwaa_extras_secrets",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "mwaa-extras", "secrets"],
    default_args={"retries": 0, "execution_timeout": timedelta(minutes=2)},
) as dag:
    PythonOperator(
        task_id="use_secret",
        python_callable=use_secret,
        op_kwargs={
            "key": os.environ.get("MWAA_EXTRAS_EXAMPLE_SECRET_KEY", "mwaa_extras_example_api_key"),
            "variables_prefix": os.environ.get("MWAA_EXTRAS_EXAMPLE_VARIABLES_PREFIX", "airflow/variables"),
        },
    )
