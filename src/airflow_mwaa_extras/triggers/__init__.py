"""Airflow triggers (layer 3, thin): what deferrable tasks wait on in the triggerer.

- :mod:`.remote_dag_run`: poll a DAG run in another MWAA environment.
"""

from __future__ import annotations
