"""Airflow hooks (layer 2): the package's MWAA, metadata DB, CloudWatch and Secrets Manager
access wrapped for an ``aws`` connection.

- :mod:`.mwaa_environment`: other MWAA environments (CLI endpoint, InvokeRestApi, DAG runs);
- :mod:`.remote_environment_task`: the mixin that gives the remote DAG run operator, sensor and
  trigger their :class:`~airflow_mwaa_extras.mwaa.dag_runs.RemoteDagRuns` from that hook;
- :mod:`.metadata_db`: the metadata DB, or on Airflow 3 the environment that owns it;
- :mod:`.cloudwatch_metrics`: checked, batched PutMetricData;
- :mod:`.secrets_manager`: secrets read with their values masked in logs.
"""

from __future__ import annotations
