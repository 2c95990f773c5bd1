"""The package's Airflow plugins by short name: one table for the plugins-folder helper and the
plugins.zip builder. Imports nothing (the ``plugins`` package imports Airflow)."""

from __future__ import annotations

# short name -> "module:Class", the same strings as the entry points in pyproject.toml.
PLUGINS: dict[str, str] = {
    "timezone": "airflow_mwaa_extras.plugins.timezone:TimezonePlugin",
    "virtualenv": "airflow_mwaa_extras.plugins.virtualenv:VirtualenvPlugin",
    "env_vars": "airflow_mwaa_extras.plugins.env_vars:EnvVarsPlugin",
    "task_metrics": "airflow_mwaa_extras.plugins.task_metrics:TaskMetricsListenerPlugin",
}
