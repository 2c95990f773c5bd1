"""Request planning: 1,000 entries and 1 MB per request, in order, nothing lost."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from airflow_mwaa_extras.metrics.batching import entry_bytes, plan_requests, request_overhead_bytes
from airflow_mwaa_extras.metrics.datum import MetricDatum, MetricValidationError, shape_datums

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def _entries(count: int, dims: int = 1, dim_len: int = 8) -> list[dict[str, object]]:
    datums = [
        MetricDatum(f"Metric{i}", i, "Count", {f"D{d}": "v" * dim_len for d in range(dims)})
        for i in range(count)
    ]
    return shape_datums(datums, now=NOW)


def test_2500_entries_make_three_requests_in_order() -> None:
    entries = _entries(2500)
    batches = list(plan_requests(entries, "MWAA-Custom"))
    assert [len(b) for b in batches] == [1000, 1000, 500]
    assert [e for b in batches for e in b] == entries


def test_large_entries_are_split_by_payload_size() -> None:
    # 30 dimensions of 1,024 characters: about 32 KB an entry, so some 30 fit 1 MB, not 1,000.
    entries = _entries(100, dims=30, dim_len=1024)
    batches = list(plan_requests(entries, "MWAA-Custom"))
    assert len(batches) > 3
    overhead = request_overhead_bytes("MWAA-Custom")
    for batch in batches:
        assert overhead + sum(entry_bytes(e) for e in batch) <= 1_000_000
    assert sum(len(b) for b in batches) == 100


def test_estimate_is_not_below_the_real_query_encoding() -> None:
    # The form encoding botocore's query protocol sends, written out for real.
    entries = _entries(3, dims=2)
    params = {"Action": "PutMetricData", "Version": "2010-08-01", "Namespace": "MWAA-Custom"}
    for i, entry in enumerate(entries, 1):
        prefix = f"MetricData.member.{i}."
        params[prefix + "MetricName"] = entry["MetricName"]
        for j, dim in enumerate(entry["Dimensions"], 1):
            params[f"{prefix}Dimensions.member.{j}.Name"] = dim["Name"]
            params[f"{prefix}Dimensions.member.{j}.Value"] = dim["Value"]
        params[prefix + "Timestamp"] = entry["Timestamp"].strftime("%Y-%m-%dT%H:%M:%SZ")
        params[prefix + "Value"] = str(entry["Value"])
        params[prefix + "Unit"] = entry["Unit"]
    real = len(urlencode(params))
    estimate = request_overhead_bytes("MWAA-Custom") + sum(entry_bytes(e) for e in entries)
    assert real <= estimate < real * 1.5


def test_small_limits_are_respected() -> None:
    batches = list(plan_requests(_entries(10), "N", max_entries=3))
    assert [len(b) for b in batches] == [3, 3, 3, 1]


def test_an_entry_that_can_never_fit_is_refused() -> None:
    with pytest.raises(MetricValidationError, match="cannot fit"):
        list(plan_requests(_entries(1, dims=30, dim_len=1024), "N", max_bytes=10_000))


def test_entries_per_request_above_cloudwatch_limit_is_refused() -> None:
    with pytest.raises(MetricValidationError, match="max_entries must be 1 to 1000"):
        list(plan_requests(_entries(1), "N", max_entries=1001))


def test_nothing_to_send_makes_no_request() -> None:
    assert list(plan_requests([], "N")) == []
