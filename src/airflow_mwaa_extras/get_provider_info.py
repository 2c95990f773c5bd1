"""What the ``apache_airflow_provider`` entry point returns.

Airflow's ProvidersManager calls this in every process that lists providers, so it imports
nothing: the version is read from the package's own ``__init__`` (which holds only a string).
"""

from __future__ import annotations

from typing import Any

from airflow_mwaa_extras import __version__

_PKG = "airflow_mwaa_extras"
_MWAA = "Amazon Managed Workflows for Apache Airflow (MWAA)"
_HOOKS = (
    "mwaa_environment",
    "remote_environment_task",
    "cloudwatch_metrics",
    "metadata_db",
    "secrets_manager",
)
_OPERATORS = ("remote_dag_run", "metadata_export", "metadata_cleanup", "worker_metrics")


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-mwaa-extras",
        "name": "MWAA Extras",
        "description": (
            "Hooks, operators, plugins and a command-line tool for Apache Airflow on Amazon MWAA: "
            "cross-environment DAG runs, metadata export and cleanup, CloudWatch metrics, "
            "Secrets Manager helpers and deployment checks."
        ),
        "versions": [__version__],
        # Module paths only (the provider convention): Airflow reads them without importing.
        "hooks": [{"integration-name": _MWAA, "python-modules": [f"{_PKG}.hooks.{m}" for m in _HOOKS]}],
        "operators": [
            {"integration-name": _MWAA, "python-modules": [f"{_PKG}.operators.{m}" for m in _OPERATORS]}
        ],
        "sensors": [{"integration-name": _MWAA, "python-modules": [f"{_PKG}.sensors.remote_dag_run"]}],
        "triggers": [{"integration-name": _MWAA, "python-modules": [f"{_PKG}.triggers.remote_dag_run"]}],
        # No "connection-types": our hooks reuse the amazon provider's `aws` type and
        # `aws_default`. A look-alike type would confuse users, and listing `aws` again would
        # take it over from the amazon provider (Airflow keeps the first registration, and
        # providers load in name order). So `airflow providers hooks`, which lists one hook per
        # connection type, shows `aws` under the amazon provider.
        "integrations": [
            {
                "integration-name": _MWAA,
                "external-doc-url": "https://aws.amazon.com/managed-workflows-for-apache-airflow/",
                "tags": ["aws"],
            }
        ],
        # Our own configuration section: [mwaa_extras] in airflow.cfg, or AIRFLOW__MWAA_EXTRAS__*.
        "config": {
            "mwaa_extras": {
                "description": "Options of the airflow-mwaa-extras plugins.",
                "options": {
                    "timezone": {
                        "description": "IANA time zone (e.g. America/Los_Angeles) the timezone plugin sets as TZ "
                        "for every Airflow process, so log timestamps follow it. Empty: no change.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "America/Los_Angeles",
                        "default": "",
                    },
                    "env_vars_file": {
                        "description": "A JSON or INI file (relative paths are read from the plugins folder) "
                        "with the variables the environment-variables plugin sets, prepends or appends.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "env_vars.json",
                        "default": "",
                    },
                    "env_vars": {
                        "description": "The same as env_vars_file, inline as JSON.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": '{"set": {"ORACLE_HOME": "/usr/local/airflow/plugins/instantclient"}}',
                        "default": "",
                    },
                    "task_metrics_enabled": {
                        "description": "Publish one CloudWatch datum set per finished task instance "
                        "(the task metrics listener plugin).",
                        "version_added": "0.1.0",
                        "type": "boolean",
                        "example": "True",
                        "default": "False",
                    },
                    "task_metrics_namespace": {
                        "description": "CloudWatch namespace of the task metrics.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "MWAA-Custom",
                        "default": "MWAA-Custom",
                    },
                },
            }
        },
    }
