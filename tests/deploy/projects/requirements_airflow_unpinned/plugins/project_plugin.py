"""A small project plugin: an environment variable for a client library, set at import time."""

from __future__ import annotations

import os

from airflow.plugins_manager import AirflowPlugin

os.environ["ORACLE_CLIENT_HOME"] = "/usr/local/airflow/plugins/instantclient"


class ProjectPlugin(AirflowPlugin):
    name = "project_plugin"
