"""L1: the Airflow metadata DB as data: export to S3 and cleanup, archive before delete.

``tables`` (which tables, per Airflow version), ``readers`` (streaming reads), ``formats`` and
``manifest`` (what lands in S3), ``s3_upload``, ``export`` and ``cleanup`` (over a database
connection), ``rest_export`` and ``db_clean_archive`` (through the REST API, for Airflow 3 where
tasks may not touch the DB). May import L0; boto3 inside functions. Test data for all of it is :mod:`airflow_mwaa_extras.testing.metadata_seed`.
"""

from __future__ import annotations
