"""One CloudWatch metric datum, checked against PutMetricData's rules before anything is sent.

Neither botocore nor moto checks most of these rules (botocore only checks types; CloudWatch
itself rejects the *whole request* for one bad datum), so a bad value is caught here with a
message that names the metric and the cause.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_mwaa_extras.exceptions import UsageError

__all__ = [
    "DEFAULT_NAMESPACE",
    "MAX_ABS_VALUE",
    "MAX_AGE",
    "MAX_DATUMS_PER_REQUEST",
    "MAX_DIMENSIONS",
    "MAX_DIMENSION_VALUE_LENGTH",
    "MAX_FUTURE",
    "MAX_NAME_LENGTH",
    "MAX_REQUEST_BYTES",
    "MAX_VALUES_PER_DATUM",
    "MIN_ABS_VALUE",
    "SHOWN_PROBLEMS",
    "STORAGE_RESOLUTIONS",
    "UNITS",
    "CheckedData",
    "MetricDatum",
    "MetricValidationError",
    "check_datums",
    "check_dimensions",
    "check_name",
    "check_namespace",
    "check_timestamp",
    "check_value",
    "shape_datum",
    "shape_datums",
]

# PutMetricData limits (CloudWatch API reference, PutMetricData and MetricDatum).
MAX_DATUMS_PER_REQUEST = 1000
MAX_REQUEST_BYTES = 1_000_000  # 1 MB HTTP POST body
MAX_DIMENSIONS = 30
MAX_VALUES_PER_DATUM = 150
MAX_NAME_LENGTH = 255  # metric name, namespace, dimension name
MAX_DIMENSION_VALUE_LENGTH = 1024
MAX_AGE = timedelta(days=14)
MAX_FUTURE = timedelta(hours=2)
# CloudWatch rejects values outside this range (base 10); NaN and +/-Infinity are not accepted.
MAX_ABS_VALUE = 1.174271e108
MIN_ABS_VALUE = 8.515920e-109
STORAGE_RESOLUTIONS = (1, 60)

UNITS = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)

DEFAULT_NAMESPACE = "MWAA-Custom"
# Names may hold any printable ASCII except ':' for dimension names; keep to what CloudWatch takes.
_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]+$")


class MetricValidationError(UsageError):
    """A metric datum, namespace or dimension breaks one of CloudWatch's rules."""


@dataclass(frozen=True)
class MetricDatum:
    """One metric datum as the caller describes it.

    :param name: the metric name (1 to 255 printable ASCII characters).
    :param value: a single value; give either ``value`` or ``values``.
    :param unit: one of CloudWatch's units (``Bytes``, ``Percent``, ``Seconds``, ``Count``...).
    :param dimensions: dimension name -> value; merged over the publisher's default dimensions.
    :param timestamp: a timezone-aware time; ``None`` means "when it is shaped" (UTC).
    :param values: many values of one metric (a statistic set is not needed); more than 150 are
        split into several data of the same metric.
    :param counts: how often each of ``values`` occurred; same length as ``values`` when given.
    :param storage_resolution: 60 (standard) or 1 (high resolution).
    """

    name: str
    value: float | None = None
    unit: str = "None"
    dimensions: Mapping[str, str] = field(default_factory=dict)
    timestamp: datetime | None = None
    values: Sequence[float] = ()
    counts: Sequence[float] = ()
    storage_resolution: int = 60


def check_name(kind: str, name: object) -> str:
    """Return ``name`` when it is a valid namespace, metric or dimension name, else raise."""
    if not isinstance(name, str) or not name:
        raise MetricValidationError(f"{kind} must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise MetricValidationError(f"{kind} {name[:40]!r}... is longer than {MAX_NAME_LENGTH} characters")
    if not _PRINTABLE_ASCII.match(name):
        raise MetricValidationError(f"{kind} {name!r} must be printable ASCII")
    return name


def check_namespace(namespace: object) -> str:
    name = check_name("namespace", namespace)
    if name.startswith("AWS/"):
        raise MetricValidationError(f"namespace {name!r}: names starting with 'AWS/' are reserved for AWS")
    return name


def check_value(metric: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MetricValidationError(f"metric {metric!r}: value {value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise MetricValidationError(f"metric {metric!r}: value {number} is not finite (NaN/inf)")
    if number != 0 and not MIN_ABS_VALUE <= abs(number) <= MAX_ABS_VALUE:
        raise MetricValidationError(f"metric {metric!r}: value {number} is outside CloudWatch's range")
    return number


def _dimension_count_text(own: Mapping[str, str], defaults: Mapping[str, str]) -> str:
    added = [key for key in defaults if key not in own]
    total = len(own) + len(added)
    if not added:
        return f"{total} dimensions"
    return f"{total} dimensions ({len(own)} of its own + {len(added)} default: {', '.join(added)})"


def check_dimensions(
    metric: str, dimensions: Mapping[str, str], defaults: Mapping[str, str] | None = None
) -> list[dict[str, str]]:
    """Check ``defaults`` merged with ``dimensions`` (the datum's own win) and shape them."""
    defaults = defaults or {}
    merged = {**defaults, **dimensions}
    if len(merged) > MAX_DIMENSIONS:
        raise MetricValidationError(
            f"metric {metric!r} has {_dimension_count_text(dimensions, defaults)}; "
            f"CloudWatch allows {MAX_DIMENSIONS}"
        )
    shaped = []
    for key, value in merged.items():
        check_name(f"metric {metric!r}: dimension name", key)
        if not isinstance(value, str) or not value:
            raise MetricValidationError(f"metric {metric!r}: dimension {key!r} has an empty value")
        if len(value) > MAX_DIMENSION_VALUE_LENGTH:
            raise MetricValidationError(
                f"metric {metric!r}: dimension {key!r} value is longer than {MAX_DIMENSION_VALUE_LENGTH} characters"
            )
        shaped.append({"Name": key, "Value": value})
    return shaped


def check_timestamp(metric: str, timestamp: datetime, now: datetime) -> datetime:
    # A naive time is how the user guide's example went wrong (it followed TZ): refuse to guess.
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        raise MetricValidationError(f"metric {metric!r}: timestamp {timestamp.isoformat()} has no time zone")
    utc = timestamp.astimezone(UTC)
    if utc < now - MAX_AGE:
        raise MetricValidationError(
            f"metric {metric!r}: timestamp {utc.isoformat()} is more than two weeks old"
        )
    if utc > now + MAX_FUTURE:
        raise MetricValidationError(
            f"metric {metric!r}: timestamp {utc.isoformat()} is more than two hours in the future"
        )
    return utc


def shape_datum(
    datum: MetricDatum,
    *,
    default_dimensions: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """Check one datum and yield the PutMetricData ``MetricData`` entries for it.

    Usually one entry; a datum with more than 150 ``values`` becomes several entries.
    """
    now = now or datetime.now(UTC)
    name = check_name("metric name", datum.name)
    if datum.unit not in UNITS:
        raise MetricValidationError(f"metric {name!r}: unknown unit {datum.unit!r}")
    if datum.storage_resolution not in STORAGE_RESOLUTIONS:
        raise MetricValidationError(
            f"metric {name!r}: storage resolution must be 1 or 60, got {datum.storage_resolution!r}"
        )
    dimensions = check_dimensions(name, datum.dimensions, default_dimensions)
    timestamp = check_timestamp(name, datum.timestamp, now) if datum.timestamp is not None else now
    base: dict[str, Any] = {
        "MetricName": name,
        "Dimensions": dimensions,
        "Timestamp": timestamp,
        "Unit": datum.unit,
    }
    if datum.storage_resolution != 60:  # 60 is CloudWatch's default: no need to send it
        base["StorageResolution"] = datum.storage_resolution
    if (datum.value is None) == (not datum.values):
        raise MetricValidationError(f"metric {name!r}: give exactly one of value or values")
    if datum.value is not None:
        yield {**base, "Value": check_value(name, datum.value)}
        return
    values = [check_value(name, v) for v in datum.values]
    counts = [check_value(name, c) for c in datum.counts]
    if counts and len(counts) != len(values):
        raise MetricValidationError(f"metric {name!r}: {len(counts)} counts for {len(values)} values")
    for start in range(0, len(values), MAX_VALUES_PER_DATUM):
        entry = {**base, "Values": values[start : start + MAX_VALUES_PER_DATUM]}
        if counts:
            entry["Counts"] = counts[start : start + MAX_VALUES_PER_DATUM]
        yield entry


# How many problems an error message lists before "and N more".
SHOWN_PROBLEMS = 5


@dataclass(frozen=True)
class CheckedData:
    """The entries of the valid data, and one line per invalid datum (with its position)."""

    entries: list[dict[str, Any]]
    problems: list[str]
    datums: int

    def error(self) -> MetricValidationError:
        shown = "; ".join(self.problems[:SHOWN_PROBLEMS])
        more = len(self.problems) - SHOWN_PROBLEMS
        tail = f"; and {more} more" if more > 0 else ""
        return MetricValidationError(
            f"{len(self.problems)} of {self.datums} metric data are invalid: {shown}{tail}"
        )


def check_datums(
    datums: Sequence[MetricDatum],
    *,
    default_dimensions: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> CheckedData:
    """Check every datum; never stops at the first invalid one."""
    now = now or datetime.now(UTC)
    entries: list[dict[str, Any]] = []
    problems: list[str] = []
    for index, datum in enumerate(datums):
        try:
            entries.extend(shape_datum(datum, default_dimensions=default_dimensions, now=now))
        except MetricValidationError as err:
            problems.append(f"#{index} {err}")
    return CheckedData(entries, problems, len(datums))


def shape_datums(
    datums: Sequence[MetricDatum],
    *,
    default_dimensions: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Check every datum (all or nothing) and return the API entries, all stamped with one ``now``.

    :raises MetricValidationError: naming how many data are invalid and the first few.
    """
    checked = check_datums(datums, default_dimensions=default_dimensions, now=now)
    if checked.problems:
        raise checked.error()
    return checked.entries
