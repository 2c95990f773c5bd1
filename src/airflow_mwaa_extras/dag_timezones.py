"""Helpers for DAGs that live in a named time zone: tz-aware start dates and cron schedules.

Not to be confused with the timezone *plugin* (:mod:`airflow_mwaa_extras.plugins.timezone`),
which sets the zone the Airflow processes print in.

Airflow evaluates a cron schedule in the time zone of its timetable (or of the DAG's
``start_date``): ``0 12 * * *`` in ``America/Los_Angeles`` runs at 20:00 UTC in winter and 19:00
UTC in summer. The timezone plugin only changes what processes print; these helpers change when
DAGs run::

    from airflow_mwaa_extras.dag_timezones import cron_schedule, start_date

    with DAG("daily_noon_la", start_date=start_date(2026, 1, 1, tz="America/Los_Angeles"),
             schedule=cron_schedule("0 12 * * *", tz="America/Los_Angeles")):
        ...

``tz`` defaults to ``[mwaa_extras] timezone`` (what the timezone plugin uses), then UTC.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.exceptions import UsageError

if TYPE_CHECKING:
    from pendulum import DateTime
    from pendulum.tz.timezone import Timezone

__all__ = ["CONFIG_ENV", "configured_timezone_name", "cron_schedule", "start_date", "zone"]

CONFIG_ENV = "AIRFLOW__MWAA_EXTRAS__TIMEZONE"


def configured_timezone_name() -> str:
    """``[mwaa_extras] timezone`` when set (read without importing Airflow when the environment
    variable carries it), else ``"UTC"``."""
    name = os.environ.get(CONFIG_ENV, "").strip()
    if not name and "airflow.configuration" in sys.modules:
        from airflow.configuration import conf

        name = (conf.get("mwaa_extras", "timezone", fallback="") or "").strip()
    return name or "UTC"


def zone(tz: str | None = None) -> Timezone:
    """A pendulum time zone; raises :class:`~airflow_mwaa_extras.exceptions.UsageError` for an
    unknown name.

    :param tz: an IANA name such as ``America/Los_Angeles``; ``None``: the configured zone
    """
    import pendulum

    name = tz or configured_timezone_name()
    try:
        result = pendulum.timezone(name)
    except Exception:  # pendulum 2 and 3 raise different types for an unknown zone
        raise UsageError(
            f"unknown time zone {name!r} (use an IANA name such as America/Los_Angeles)"
        ) from None
    return result


def start_date(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, tz: str | None = None
) -> DateTime:
    """A tz-aware ``start_date``: midnight (or ``hour:minute``) local time in ``tz``.

    :param year: year
    :param month: month
    :param day: day
    :param hour: hour, local time
    :param minute: minute, local time
    :param tz: an IANA name; ``None``: the configured zone
    """
    import pendulum

    return pendulum.datetime(year, month, day, hour, minute, tz=zone(tz))


def cron_schedule(expression: str, *, tz: str | None = None) -> Any:
    """A timetable that fires at ``expression`` wall-clock time in ``tz`` (``CronTriggerTimetable``),
    right across daylight-saving changes.

    :param expression: a five-field cron expression, e.g. ``0 12 * * *``
    :param tz: an IANA name; ``None``: the configured zone
    """
    from airflow_mwaa_extras.version_compat import CronTriggerTimetable

    fields = expression.split()
    if len(fields) != 5:
        raise UsageError(f"cron expression {expression!r} must have 5 fields, has {len(fields)}")
    timetable = CronTriggerTimetable(expression, timezone=zone(tz))
    try:
        # Airflow checks each field only when it loads the DAG; refuse a typo here, in one line.
        timetable.validate()
    except Exception as err:  # AirflowTimetableInvalid; its module moved between versions
        raise UsageError(f"cron expression {expression!r} is not valid: {err}") from None
    return timetable
