"""Show the variables the environment-variables plugin set for task processes.

Configure the plugin with ``[mwaa_extras] env_vars_file`` (a JSON or INI file in the plugins
folder) or ``[mwaa_extras] env_vars`` (inline JSON), e.g.
``{"set": {"JAVA_HOME": "/usr/lib/jvm/jre"}, "prepend": {"PATH": ["{plugins_folder}/bin"]}}``.
``MWAA_EXTRAS_EXAMPLE_ENV_NAMES`` (comma-separated) chooses what the task reports; by default
the PATH-like variables MWAA lets you extend and JAVA_HOME.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

from airflow_mwaa_extras.version_compat import DAG, PythonOperator

NAMES = os.environ.get(
    "MWAA_EXTRAS_EXAMPLE_ENV_NAMES", "PATH,PYTHONPATH,LD_LIBRARY_PATH,CLASSPATH,JAVA_HOME"
).split(",")


def report_env(names: list[str]) -> dict[str, str | None]:
    """Log and return the values of ``names`` in this task's process (``None``: unset)."""
    values = {name: os.environ.get(name) for name in names if name}
    log = logging.getLogger("airflow.task")
    for name, value in values.items():
        log.info("MWAA_EXTRAS_ENV %s=%s", name, "<unset>" if value is None else value)
    return values


with DAG(
    dag_id="example_mwaa_extras_env_vars",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "mwaa-extras", "plugins"],
    default_args={"retries": 0, "execution_timeout": timedelta(minutes=2)},
) as dag:
    PythonOperator(task_id="report_env", python_callable=report_env, op_args=[NAMES])
