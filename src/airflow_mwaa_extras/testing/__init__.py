"""Local stand-ins for the AWS side, for our tests, the demo, and users' own tests (test
support, beside the layers: the demo uses it, and ``mwaa-extras local test`` borrows
``airflow_home.base_env``; nothing in mwaa/, hooks/, operators/, sensors/ or triggers/ does).

- :mod:`.local_aws`: moto's server on 127.0.0.1 (S3, CloudWatch, Secrets Manager...) and the
  environment variables that point boto3 and Airflow's ``aws_default`` at it.
- :mod:`.faulty_http`: an HTTP proxy in front of a local server that answers late, never
  answers, drops connections, throttles or refuses them, to prove retry code.
- :mod:`.airflow_home`: a throw-away ``AIRFLOW_HOME`` with a real, migrated metadata DB
  (SQLite, or PostgreSQL given a DSN).
- :mod:`.metadata_seed`: a deterministic Airflow history written into such a DB (for the
  metadata tests, the demo and the benchmark).
- :mod:`.mwaa_standin`: MWAA's API and its web server's CLI endpoint, backed by local homes.

Nothing here ever talks to real AWS: every endpoint is on the loopback interface.
"""

from __future__ import annotations
