"""airflow-mwaa-extras: hooks, operators, plugins and a CLI for Apache Airflow on Amazon MWAA.

Importing the package costs nothing: it holds the version only. Import what you use from
its subpackages (``airflow_mwaa_extras.operators...``, ``airflow_mwaa_extras.mwaa...``).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
