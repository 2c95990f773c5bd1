"""Run a function in a fresh virtualenv with one extra requirement (PythonVirtualenvOperator).

On Airflow 2 the virtualenv plugin makes sure the virtualenv is created with the scheduler's
own interpreter (``python -m virtualenv``), whatever ``PATH`` holds; on Airflow 3 the standard
provider uses ``venv`` or ``uv`` and the plugin does nothing. The requirement, the module to
import and an optional local wheel folder come from the environment, so the same DAG installs
from PyPI on MWAA (``MWAA_EXTRAS_EXAMPLE_VENV_REQUIREMENT``, default ``six``) and offline in the
tests (``MWAA_EXTRAS_EXAMPLE_VENV_FIND_LINKS``: pip then runs with ``--no-index --find-links``).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow_mwaa_extras.version_compat import DAG, PythonVirtualenvOperator

REQUIREMENT = os.environ.get("MWAA_EXTRAS_EXAMPLE_VENV_REQUIREMENT", "six")
MODULE = os.environ.get("MWAA_EXTRAS_EXAMPLE_VENV_MODULE", "six")
FIND_LINKS = os.environ.get("MWAA_EXTRAS_EXAMPLE_VENV_FIND_LINKS", "")


def import_in_virtualenv(module_name: str) -> str:
    """Runs inside the virtualenv: import the requirement and say where it came from."""
    import importlib
    import sys

    module = importlib.import_module(module_name)
    line = (
        f"MWAA_EXTRAS_VENV module={module.__name__} answer={getattr(module, 'ANSWER', None)} "
        f"python={sys.executable} file={module.__file__}"
    )
    print(line)
    return line


with DAG(
    dag_id="example_mwaa_extras_virtualenv",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "mwaa-extras", "plugins"],
    default_args={"retries": 0, "execution_timeout": timedelta(minutes=10)},
) as dag:
    PythonVirtualenvOperator(
        task_id="import_in_virtualenv",
        python_callable=import_in_virtualenv,
        op_args=[MODULE],
        requirements=[REQUIREMENT],
        system_site_packages=False,
        pip_install_options=["--no-index", "--find-links", FIND_LINKS] if FIND_LINKS else [],
    )
