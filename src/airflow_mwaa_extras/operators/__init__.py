"""Airflow operators (layer 3, thin): each module one operator over a hook and ``mwaa/``.

- :mod:`.remote_dag_run`: trigger a DAG in another MWAA environment (and wait);
- :mod:`.metadata_export` / :mod:`.metadata_cleanup`: export the metadata DB to S3 / archive
  and delete old rows (their shared base: ``_metadata_s3``);
- :mod:`.worker_metrics`: publish the worker's resources to CloudWatch.
"""

from __future__ import annotations
