"""Airflow sensors (layer 3, thin).

- :mod:`.remote_dag_run`: wait for a DAG run (or one task) in another MWAA environment.
"""

from __future__ import annotations
