"""Shaping and checking metric data against CloudWatch's rules (which moto and botocore skip)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.metrics.datum import (
    MAX_VALUES_PER_DATUM,
    MetricDatum,
    MetricValidationError,
    check_namespace,
    shape_datum,
    shape_datums,
)

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def test_shape_merges_default_dimensions_and_stamps_utc() -> None:
    datum = MetricDatum("Memory", 12, "Bytes", {"Category": "Own", "Volume": "Temp"})
    (entry,) = shape_datum(datum, default_dimensions={"Environment": "prod", "Category": "Default"}, now=NOW)
    assert entry == {
        "MetricName": "Memory",
        "Dimensions": [
            {"Name": "Environment", "Value": "prod"},
            {"Name": "Category", "Value": "Own"},
            {"Name": "Volume", "Value": "Temp"},
        ],
        "Timestamp": NOW,
        "Unit": "Bytes",
        "Value": 12.0,
    }


def test_timestamp_in_another_zone_is_converted_to_utc() -> None:
    local = NOW.astimezone(timezone(timedelta(hours=-8)))
    (entry,) = shape_datum(MetricDatum("M", 1, timestamp=local), now=NOW)
    assert entry["Timestamp"] == NOW
    assert entry["Timestamp"].utcoffset() == timedelta(0)


def test_more_than_150_values_become_several_entries() -> None:
    values = [float(i) for i in range(MAX_VALUES_PER_DATUM * 2 + 1)]
    counts = [1.0] * len(values)
    entries = list(shape_datum(MetricDatum("Lat", unit="Seconds", values=values, counts=counts), now=NOW))
    assert [len(e["Values"]) for e in entries] == [150, 150, 1]
    assert [len(e["Counts"]) for e in entries] == [150, 150, 1]
    assert [v for e in entries for v in e["Values"]] == values


@pytest.mark.parametrize(
    ("datum", "message"),
    [
        pytest.param(MetricDatum("M", math.nan), "not finite", id="nan"),
        pytest.param(MetricDatum("M", math.inf), "not finite", id="inf"),
        pytest.param(MetricDatum("M", -math.inf), "not finite", id="minus-inf"),
        pytest.param(MetricDatum("M", 1e200), "outside CloudWatch's range", id="too-large"),
        pytest.param(MetricDatum("M", "3"), "not a number", id="string-value"),  # type: ignore[arg-type]
        pytest.param(MetricDatum("M", True), "not a number", id="bool-value"),
        pytest.param(MetricDatum("M", values=[1.0, math.nan]), "not finite", id="nan-in-values"),
        pytest.param(MetricDatum("M", 1, "Megabyte"), "unknown unit 'Megabyte'", id="unknown-unit"),
        pytest.param(
            MetricDatum("M", 1, dimensions={"Env": ""}), "dimension 'Env' has an empty value", id="empty"
        ),
        pytest.param(MetricDatum("M", 1, dimensions={"Env": "x" * 1025}), "longer than 1024", id="too-long"),
        pytest.param(
            MetricDatum("M", 1, dimensions={"": "x"}), "dimension name must be a non-empty", id="no-name"
        ),
        pytest.param(
            MetricDatum("M", 1, dimensions={f"D{i}": "v" for i in range(31)}), "31 dimensions", id="31-dims"
        ),
        pytest.param(MetricDatum("", 1), "metric name must be a non-empty", id="empty-name"),
        pytest.param(MetricDatum("M" * 256, 1), "longer than 255", id="long-name"),
        pytest.param(MetricDatum("M", 1, storage_resolution=5), "storage resolution", id="resolution"),
        pytest.param(MetricDatum("M"), "exactly one of value or values", id="no-value"),
        pytest.param(MetricDatum("M", 1, values=[1.0]), "exactly one of value or values", id="both"),
        pytest.param(MetricDatum("M", values=[1.0, 2.0], counts=[1.0]), "1 counts for 2 values", id="counts"),
        pytest.param(
            MetricDatum("M", 1, timestamp=NOW - timedelta(days=14, seconds=1)),
            "more than two weeks old",
            id="old",
        ),
        pytest.param(
            MetricDatum("M", 1, timestamp=NOW + timedelta(hours=2, seconds=1)),
            "two hours in the future",
            id="future",
        ),
        pytest.param(
            MetricDatum("M", 1, timestamp=datetime(2026, 1, 15, 12)), "has no time zone", id="naive"
        ),
    ],
)
def test_bad_datum_is_refused_with_a_one_line_reason(datum: MetricDatum, message: str) -> None:
    with pytest.raises(MetricValidationError, match=message) as info:
        list(shape_datum(datum, now=NOW))
    assert "\n" not in str(info.value)
    assert isinstance(info.value, UsageError)


def test_boundaries_that_cloudwatch_accepts() -> None:
    ok = [
        MetricDatum("M", 0),
        MetricDatum("M", -5.5),
        MetricDatum("M", 1, timestamp=NOW - timedelta(days=13, hours=23)),
        MetricDatum("M", 1, timestamp=NOW + timedelta(hours=1)),
        MetricDatum("M", 1, dimensions={f"D{i}": "v" * 1024 for i in range(30)}),
        MetricDatum("M", 1, storage_resolution=1),
    ]
    entries = shape_datums(ok, now=NOW)
    assert len(entries) == len(ok)
    assert entries[-1]["StorageResolution"] == 1


def test_one_bad_datum_rejects_the_whole_set() -> None:
    with pytest.raises(MetricValidationError, match="'Bad'"):
        shape_datums([MetricDatum("Good", 1), MetricDatum("Bad", math.nan)], now=NOW)


@pytest.mark.parametrize(
    ("namespace", "message"),
    [("", "non-empty"), ("AWS/EC2", "reserved for AWS"), ("N" * 256, "longer than 255"), ("é", "ASCII")],
    ids=["empty", "aws-prefix", "too-long", "non-ascii"],
)
def test_bad_namespace(namespace: str, message: str) -> None:
    with pytest.raises(MetricValidationError, match=message):
        check_namespace(namespace)


def test_dimension_count_names_the_defaults_it_added() -> None:
    own = {f"D{i}": "v" for i in range(29)} | {"Category": "Own"}
    datum = MetricDatum("Wide", 1, dimensions=own)
    with pytest.raises(MetricValidationError) as info:
        list(
            shape_datum(datum, default_dimensions={"Environment": "e", "Category": "c", "Host": "h"}, now=NOW)
        )
    assert str(info.value) == (
        "metric 'Wide' has 32 dimensions (30 of its own + 2 default: Environment, Host); CloudWatch allows 30"
    )


def test_every_invalid_datum_is_reported_with_its_position() -> None:
    from airflow_mwaa_extras.metrics.datum import check_datums

    datums = [MetricDatum("Ok", 1), MetricDatum("A", math.nan), MetricDatum("B", 1, "Megabyte")]
    checked = check_datums(datums, now=NOW)
    assert len(checked.entries) == 1
    assert checked.problems == [
        "#1 metric 'A': value nan is not finite (NaN/inf)",
        "#2 metric 'B': unknown unit 'Megabyte'",
    ]
    assert str(checked.error()) == (
        "2 of 3 metric data are invalid: #1 metric 'A': value nan is not finite (NaN/inf); "
        "#2 metric 'B': unknown unit 'Megabyte'"
    )
