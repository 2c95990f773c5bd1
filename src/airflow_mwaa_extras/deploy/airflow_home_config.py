"""The configuration every local Airflow home gets (``local test``/``local up`` and the test
support's homes): close to MWAA's, quiet, and self-contained.

Plain environment variables (``AIRFLOW__SECTION__KEY``), so the same dict serves a subprocess of
any Airflow and this process before ``import airflow``; no Airflow import here.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path


def airflow_home_env(
    home: Path,
    sql_alchemy_conn: str,
    dags_folder: Path,
    plugins_folder: Path,
) -> dict[str, str]:
    """The variables that select ``home`` and its metadata DB, with MWAA's settings that matter."""
    secret = secrets.token_hex(16)
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn,
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # MWAA requires this for plugins that act at import time (timezone, env vars).
        "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
        "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS": "False",
        "AIRFLOW__WEBSERVER__SECRET_KEY": secret,
        "AIRFLOW__API__SECRET_KEY": secret,
        "AIRFLOW__API_AUTH__JWT_SECRET": secret,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__SCHEDULER__CHILD_PROCESS_LOG_DIRECTORY": str(home / "logs" / "scheduler"),
    }
