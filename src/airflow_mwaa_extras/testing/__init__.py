"""Local stand-ins for the AWS side, for our tests, the demo, and users' own tests.

- :mod:`.local_aws`: moto's server on 127.0.0.1 (S3, CloudWatch, Secrets Manager...) and the
  environment variables that point boto3 and Airflow's ``aws_default`` at it.
- :mod:`.faulty_http`: an HTTP proxy in front of a local server that answers late, never
  answers, drops connections, throttles or refuses them, to prove retry code.
- :mod:`.airflow_home`: a throw-away ``AIRFLOW_HOME`` with a real, migrated metadata DB
  (SQLite, or PostgreSQL given a DSN).

Nothing here ever talks to real AWS: every endpoint is on the loopback interface.
"""

from __future__ import annotations
