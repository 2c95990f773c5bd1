"""The timezone plugin in real task runs, and the tz-aware helpers on the installed Airflow's timetable."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from airflow_mwaa_extras.dag_timezones import cron_schedule, start_date, zone
from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.plugins._common import PluginConfigError
from airflow_mwaa_extras.plugins.timezone import validate_timezone
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_1_PLUS
from tests.plugins._helpers import EXAMPLE_DAGS, load_example, plugins_json

UTC = UTC


def _core_timetable(timetable: object) -> object:
    """What the scheduler uses: the timetable after a serialization round trip."""
    if AIRFLOW_V_3_1_PLUS:
        from airflow.serialization.decoders import decode_timetable
        from airflow.serialization.encoders import encode_timetable
    else:  # 2.x and 3.0 (MWAA 3.0.6)
        from airflow.serialization.serialized_objects import decode_timetable, encode_timetable
    return decode_timetable(encode_timetable(timetable))  # type: ignore[arg-type]


def _run_times(timetable: object, earliest: datetime, count: int) -> list[datetime]:
    from airflow.timetables.base import DataInterval, TimeRestriction

    restriction = TimeRestriction(earliest=earliest, latest=None, catchup=True)
    last = None
    times = []
    for _ in range(count):
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)  # type: ignore[attr-defined]
        assert info is not None
        times.append(info.run_after.astimezone(UTC).replace(tzinfo=UTC))
        last = DataInterval(info.data_interval.start, info.data_interval.end)
    return times


@pytest.mark.parametrize(
    ("first_day", "expected_utc_hours"),
    [
        # 2026: DST starts Sunday 8 March (PST -8 -> PDT -7) and ends Sunday 1 November.
        ((2026, 3, 6), [20, 20, 19, 19]),
        ((2026, 10, 30), [19, 19, 20, 20]),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_daily_noon_los_angeles_across_dst(
    first_day: tuple[int, int, int], expected_utc_hours: list[int]
) -> None:
    module = load_example("example_mwaa_extras_timezone")
    timetable = _core_timetable(module.DAILY_NOON_LOS_ANGELES)
    earliest = start_date(*first_day, tz="America/Los_Angeles")
    times = _run_times(timetable, earliest, 4)
    assert [t.hour for t in times] == expected_utc_hours
    assert [t.date() for t in times] == [earliest.date() + timedelta(days=n) for n in range(4)]
    assert all(t.minute == 0 for t in times)
    # And the same wall clock in Los Angeles every day.
    la = zone("America/Los_Angeles")
    assert {t.astimezone(la).strftime("%H:%M") for t in times} == {"12:00"}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "expression", ["0 12 * * **", "61 12 * * *", "0 12 * * 1L"], ids=["guide-typo", "range", "syntax"]
)
def test_cron_schedule_refuses_invalid_fields_in_one_line(expression: str) -> None:
    # Five fields, but not a valid cron: refused here, not when Airflow later loads the DAG.
    with pytest.raises(UsageError, match=r"^cron expression .* is not valid: [^\n]*$"):
        cron_schedule(expression, tz="America/Los_Angeles")


def test_helpers_validate() -> None:
    assert start_date(2026, 7, 1, tz="America/Los_Angeles").utcoffset() == timedelta(hours=-7)
    with pytest.raises(UsageError, match="unknown time zone 'Mars/Olympus'"):
        zone("Mars/Olympus")
    with pytest.raises(UsageError, match="must have 5 fields"):
        cron_schedule("0 12 * * * *", tz="UTC")  # six fields
    with pytest.raises(PluginConfigError, match="not a known IANA time zone"):
        validate_timezone("America/Los Angeles")


# --- real task runs -------------------------------------------------------------------------------

LOG_LINE = re.compile(
    r"\[(?P<stamp>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(?P<offset>[+-]\d{4}))\] "
    r"\{example_mwaa_extras_timezone\.py:\d+\} INFO - MWAA_EXTRAS_TZ tz=(?P<tz>\S*) zone=\S* utc_offset=(?P<seen>\S+)"
)


@pytest.mark.slow
def test_task_log_timestamps_show_the_zone(make_airflow_home: Callable[..., AirflowHome]) -> None:
    home = make_airflow_home("tz-home", dags_folder=EXAMPLE_DAGS)
    before = datetime.now(UTC)
    proc = home.airflow(
        "dags",
        "test",
        "example_mwaa_extras_timezone",
        check=False,
        extra_env={"AIRFLOW__MWAA_EXTRAS__TIMEZONE": "Asia/Kathmandu"},  # +05:45, no DST: unmistakable
    )
    after = datetime.now(UTC)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "mwaa_extras timezone plugin: TZ=Asia/Kathmandu" in out
    if AIRFLOW_V_3_1_PLUS:
        # Airflow 3.1+ stamps every log event in UTC (structlog) and the UI converts; the task
        # process itself still runs in the zone. 3.0's `dags test` (MWAA 3.0.6) still logs
        # through Airflow 2's handlers, zone offset included: the checks below.
        assert "MWAA_EXTRAS_TZ tz=Asia/Kathmandu zone=+0545 utc_offset=+0545" in out
        events = [line for line in out.splitlines() if "MWAA_EXTRAS_TZ" in line]
        assert events
        assert all(re.match(r"^\d{4}-\d\d-\d\dT[\d:.]+Z ", line) for line in events)
        return
    # Airflow 2.9 colours the console handler's fields (ANSI escapes around the time stamp).
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    matches = [m for m in map(LOG_LINE.search, plain.splitlines()) if m]
    assert matches, out[-3000:]
    for match in matches:
        assert match["offset"] == "+0545"
        assert match["tz"] == "Asia/Kathmandu"
        assert match["seen"] == "+0545"
        stamp = datetime.strptime(match["stamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
        assert before - timedelta(seconds=1) <= stamp <= after + timedelta(seconds=1)  # the right instant


@pytest.mark.slow
def test_a_bad_zone_is_a_plugin_import_error(make_airflow_home: Callable[..., AirflowHome]) -> None:
    home = make_airflow_home("tz-plugins")
    bad = home.airflow(
        "plugins", "-o", "json", check=False, extra_env={"AIRFLOW__MWAA_EXTRAS__TIMEZONE": "Mars/Olympus"}
    )
    out = bad.stdout + bad.stderr
    assert bad.returncode == 0, out[-3000:]
    assert "[mwaa_extras] timezone = 'Mars/Olympus' is not a known IANA time zone" in out
    listed = [p["name"] for p in plugins_json(bad.stdout)]
    assert "mwaa_extras_timezone" not in listed
    assert "mwaa_extras_env_vars" in listed
