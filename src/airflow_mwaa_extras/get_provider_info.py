"""What the ``apache_airflow_provider`` entry point returns.

Airflow's ProvidersManager calls this in every process that lists providers, so it imports
nothing: the version is read from the package's own ``__init__`` (which holds only a string).
"""

from __future__ import annotations

from typing import Any

from airflow_mwaa_extras import __version__


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
        # Our hooks reuse the amazon provider's `aws` connection type and `aws_default`:
        # registering a look-alike connection type would confuse users, so none is listed here.
        "integrations": [
            {
                "integration-name": "Amazon Managed Workflows for Apache Airflow (MWAA)",
                "external-doc-url": "https://aws.amazon.com/managed-workflows-for-apache-airflow/",
                "tags": ["aws"],
            }
        ],
    }
