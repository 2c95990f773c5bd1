"""A small project plugin: an environment variable for a client library, set at import time."""

from __future__ import annotations

import os

from airflow.plugins_manager import AirflowPlugin

os.environ["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"


class ProjectPlugin(AirflowPlugin):
    name = "project_plugin"
