"""L1: Airflow connections and variables in AWS Secrets Manager.

``uri`` builds and checks connection secrets with Airflow's own ``Connection``; ``sources``
says where the connections and variables to move come from; ``migrate`` plans and applies the
move; ``backend_config`` builds and checks MWAA's
``secrets.backend_kwargs``. May import L0; Airflow only inside functions.
"""

from __future__ import annotations
