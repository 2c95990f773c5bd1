"""Export the metadata of DAG runs older than 30 days to S3, gzipped CSV plus a manifest.

Airflow 2 reads the metadata DB (PostgreSQL ``COPY`` on MWAA); Airflow 3 pages through the
environment's REST API (``AIRFLOW_ENV_NAME``, which MWAA sets). The bucket comes from
``MWAA_EXTRAS_METADATA_BUCKET``; S3 is reached through ``aws_default``. The manifest key is the
task's XCom.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow_mwaa_extras.operators.metadata_export import MetadataExportOperator
from airflow_mwaa_extras.version_compat import DAG

BUCKET = os.environ.get("MWAA_EXTRAS_METADATA_BUCKET", "my-airflow-metadata-archive")

with DAG(
    dag_id="example_mwaa_extras_metadata_export",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "mwaa-extras", "metadata"],
    default_args={"retries": 0, "execution_timeout": timedelta(minutes=30)},
) as dag:
    MetadataExportOperator(
        task_id="export_old_metadata",
        bucket=BUCKET,
        older_than_days=30,
        gzip=True,
        # Every try writes its own keys; {attempt} (try number + token) is required.
        key_template="airflow-metadata/{table}/{date}/{dag_id}/{run_id}/{task_id}/{attempt}.{ext}",
    )
