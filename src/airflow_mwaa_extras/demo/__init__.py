"""``mwaa-extras demo``: the package's main job on an embedded default.

It starts what it needs locally (a SQLite Airflow metadata DB, moto's server on 127.0.0.1,
the local MWAA stand-in), runs the example DAGs end to end through the real ``airflow`` CLI,
prints what each did, and cleans up after itself. Each feature adds one module to
:mod:`airflow_mwaa_extras.demo.steps` (see :mod:`.runner` for the contract).
"""

from __future__ import annotations
