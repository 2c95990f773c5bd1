"""A DAG in a named time zone, and what the timezone plugin changes in a task.

``start_date`` and the schedule below are in America/Los_Angeles: ``DAILY_NOON_LOS_ANGELES``
fires at 12:00 local time, i.e. 20:00 UTC in winter and 19:00 UTC in summer (use it as
``schedule=``; this example is triggered by hand). With ``[mwaa_extras] timezone`` set (MWAA
configuration option ``mwaa_extras.timezone``) the task's process runs with that ``TZ``: on
Airflow 2 the log timestamps carry its UTC offset; Airflow 3 writes task logs in UTC and the UI
converts them.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow_mwaa_extras.dag_timezones import cron_schedule, start_date
from airflow_mwaa_extras.version_compat import DAG, PythonOperator

DAILY_NOON_LOS_ANGELES = cron_schedule("0 12 * * *", tz="America/Los_Angeles")


def report_local_time() -> dict[str, str]:
    """Log and return the zone this task process runs in."""
    import os
    import time

    seen = {"tz": os.environ.get("TZ", ""), "zone": time.strftime("%Z"), "utc_offset": time.strftime("%z")}
    logging.getLogger("airflow.task").info(
        "MWAA_EXTRAS_TZ tz=%s zone=%s utc_offset=%s", seen["tz"], seen["zone"], seen["utc_offset"]
    )
    return seen


with DAG(
    dag_id="example_mwaa_extras_timezone",
    schedule=None,
    start_date=start_date(2024, 1, 1, tz="America/Los_Angeles"),
    catchup=False,
    tags=["example", "mwaa-extras", "plugins"],
    default_args={"retries": 0, "execution_timeout": timedelta(minutes=2)},
) as dag:
    PythonOperator(task_id="report_local_time", python_callable=report_local_time)
