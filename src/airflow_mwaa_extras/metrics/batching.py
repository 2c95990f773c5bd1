"""Split shaped metric entries into PutMetricData requests that stay inside CloudWatch's limits.

A request may carry at most 1,000 entries and a 1 MB body. The body size depends on the wire
protocol botocore picks (the query protocol on older botocore, CBOR on newer); the estimate here
is the size of the query-protocol form encoding, the largest of them, so a request planned here
fits whichever protocol sends it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from airflow_mwaa_extras.metrics.datum import (
    MAX_DATUMS_PER_REQUEST,
    MAX_REQUEST_BYTES,
    MetricValidationError,
)

__all__ = ["entry_bytes", "plan_requests", "request_overhead_bytes"]

# Every index is counted as four digits (the widest a 1,000-entry request has).
_INDEX = "1000"


def _pair(key: str, value: object) -> int:
    return len(key) + len(quote(str(value), safe="")) + 2  # '&' and '='


def _timestamp_text(value: datetime) -> str:
    return value.isoformat()


def request_overhead_bytes(namespace: str) -> int:
    """Bytes of a request body that do not depend on the entries."""
    return _pair("Action", "PutMetricData") + _pair("Version", "2010-08-01") + _pair("Namespace", namespace)


def entry_bytes(entry: dict[str, Any]) -> int:
    """An upper bound of the form-encoded size of one ``MetricData`` entry."""
    prefix = f"MetricData.member.{_INDEX}."
    size = 0
    for key, value in entry.items():
        if key == "Dimensions":
            for dim in value:
                dim_prefix = f"{prefix}Dimensions.member.{_INDEX}."
                size += _pair(dim_prefix + "Name", dim["Name"]) + _pair(dim_prefix + "Value", dim["Value"])
        elif key in ("Values", "Counts"):
            size += sum(_pair(f"{prefix}{key}.member.{_INDEX}", repr(float(v))) for v in value)
        elif key == "Timestamp":
            size += _pair(prefix + key, _timestamp_text(value))
        elif key == "Value":
            size += _pair(prefix + key, repr(float(value)))
        else:
            size += _pair(prefix + key, value)
    return size


def plan_requests(
    entries: Sequence[dict[str, Any]],
    namespace: str,
    *,
    max_entries: int = MAX_DATUMS_PER_REQUEST,
    max_bytes: int = MAX_REQUEST_BYTES,
) -> Iterator[list[dict[str, Any]]]:
    """Yield lists of entries, in order, each list one request within both limits.

    :param entries: shaped entries (from :func:`~airflow_mwaa_extras.metrics.datum.shape_datums`).
    :param namespace: the request's namespace (its size counts too).
    :param max_entries: entries per request (CloudWatch: 1,000).
    :param max_bytes: body bytes per request (CloudWatch: 1 MB).
    """
    if not 1 <= max_entries <= MAX_DATUMS_PER_REQUEST:
        raise MetricValidationError(f"max_entries must be 1 to {MAX_DATUMS_PER_REQUEST}, got {max_entries}")
    overhead = request_overhead_bytes(namespace)
    batch: list[dict[str, Any]] = []
    batch_bytes = overhead
    for entry in entries:
        size = entry_bytes(entry)
        if overhead + size > max_bytes:
            raise MetricValidationError(
                f"metric {entry.get('MetricName')!r}: one entry of {size} bytes cannot fit a {max_bytes}-byte request"
            )
        if batch and (len(batch) >= max_entries or batch_bytes + size > max_bytes):
            yield batch
            batch, batch_bytes = [], overhead
        batch.append(entry)
        batch_bytes += size
    if batch:
        yield batch
