"""``python -m airflow_mwaa_extras`` is ``mwaa-extras``."""

from __future__ import annotations

import sys

from airflow_mwaa_extras.cli import main

sys.exit(main())
