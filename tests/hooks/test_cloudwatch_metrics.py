"""CloudWatchMetricsHook against moto's server, behind a fault-injecting proxy for its error paths."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.hooks.cloudwatch_metrics import CloudWatchMetricsHook
from airflow_mwaa_extras.metrics.datum import MetricDatum, MetricValidationError
from airflow_mwaa_extras.metrics.publish import MetricsPublishError, cloudwatch_client_config, put_entries
from airflow_mwaa_extras.testing.faulty_http import FaultyHttpProxy
from airflow_mwaa_extras.testing.local_aws import LocalAws


class RequestCounter:
    """Counts PutMetricData requests and their body sizes as botocore sends them."""

    def __init__(self, client: Any) -> None:
        self.bodies: list[int] = []
        client.meta.events.register("before-send.cloudwatch.PutMetricData", self._count)

    def _count(self, request: Any, **_: Any) -> None:
        self.bodies.append(len(request.body or b""))


def get_values(
    cw: Any, name: str, dims: dict[str, str], unit: str, namespace: str = "MWAA-Custom", stat: str = "Sum"
) -> list[float]:
    now = datetime.now(UTC)
    result = cw.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "q",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                    },
                    "Period": 60,
                    "Stat": stat,
                    "Unit": unit,
                },
            }
        ],
        StartTime=now - timedelta(minutes=30),
        EndTime=now + timedelta(minutes=5),
    )
    return list(result["MetricDataResults"][0]["Values"])


@pytest.fixture(autouse=True)
def _uncompressed_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore gzips PutMetricData bodies over 10 KB; moto 5.0 (the Airflow 2.10 leg) cannot read
    # them. Real CloudWatch can; uncompressed bodies also let the tests measure the 1 MB limit.
    monkeypatch.setenv("AWS_DISABLE_REQUEST_COMPRESSION", "true")


@pytest.fixture
def hook(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudWatchMetricsHook]:
    monkeypatch.setenv("AIRFLOW_ENV_NAME", "test-env")
    # Behaviour, not speed: moto on a loaded 2-core CI machine can take longer than the 10 s
    # default read timeout, which would count the data as lost (the defaults have their own test).
    return CloudWatchMetricsHook(config=cloudwatch_client_config(read_timeout=120), time_budget=300)


def test_metrics_exist_with_exact_names_values_units_and_dimensions(
    hook: CloudWatchMetricsHook, aws: LocalAws
) -> None:
    result = hook.put_metrics(
        [
            MetricDatum("QueueDepth", 42, "Count"),
            MetricDatum("ExportSize", 1536.5, "Kilobytes", {"Table": "orders"}),
        ],
        category="Pipelines",
    )
    assert (result.entries, result.requests, result.namespace) == (2, 1, "MWAA-Custom")
    cw = aws.client("cloudwatch")
    base = {"Environment": "test-env", "Category": "Pipelines"}
    assert get_values(cw, "QueueDepth", base, "Count") == [42.0]
    assert get_values(cw, "ExportSize", {**base, "Table": "orders"}, "Kilobytes") == [1536.5]
    # Another unit, or dimensions that differ, name another metric: nothing there.
    assert get_values(cw, "QueueDepth", base, "Percent") == []
    assert get_values(cw, "ExportSize", base, "Kilobytes") == []
    listed = cw.list_metrics(Namespace="MWAA-Custom")["Metrics"]
    assert sorted(m["MetricName"] for m in listed) == ["ExportSize", "QueueDepth"]


@pytest.mark.slow  # moto 5.0 parses a 1,000-entry query request in about 20 s (quadratic)
def test_2500_datums_go_out_in_3_requests(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_ENV_NAME", "test-env")
    hook = CloudWatchMetricsHook(config=cloudwatch_client_config(read_timeout=180), time_budget=600)
    counter = RequestCounter(hook.conn)
    result = hook.put_metrics([MetricDatum(f"Metric{i}", i, "Count") for i in range(2500)])
    assert (result.entries, result.requests) == (2500, 3)
    assert len(counter.bodies) == 3
    assert max(counter.bodies) <= 1_000_000
    cw = aws.client("cloudwatch")
    dims = {"Environment": "test-env"}
    for i in (0, 999, 1000, 2499):
        assert get_values(cw, f"Metric{i}", dims, "Count") == [float(i)]


def test_payload_limit_splits_before_the_count_limit(hook: CloudWatchMetricsHook) -> None:
    # moto would need minutes to parse bodies this wide, so botocore serializes the requests for
    # real (whatever protocol it uses) and the Stubber answers them.
    from urllib.parse import urlencode

    bodies: list[int] = []

    def measure(event_name: str, params: dict[str, Any], **_: Any) -> None:
        if event_name.endswith(".PutMetricData"):
            body = params["body"]
            bodies.append(len(urlencode(body) if isinstance(body, dict) else body))

    # (A handler on the full event name is skipped once the Stubber is active.)
    hook.conn.meta.events.register_first("before-call.*.*", measure)
    long_dims = {f"D{d}": "x" * 1000 for d in range(28)}
    datums = [MetricDatum("Wide", i, "None", long_dims) for i in range(120)]
    with Stubber(hook.conn) as stub:
        for _ in range(5):
            stub.add_response("put_metric_data", {})
        result = hook.put_metrics(datums)
    assert result.requests == len(bodies) == 4  # by size: about 29 wide entries per request
    assert 700_000 < max(bodies) <= 1_000_000  # CBOR (botocore >= 1.42) is denser than the query form


def test_many_values_of_one_metric_are_split_at_150(hook: CloudWatchMetricsHook, aws: LocalAws) -> None:
    counter = RequestCounter(hook.conn)
    values = [float(v) for v in range(1, 302)]  # 150 + 150 + 1
    result = hook.put_metrics([MetricDatum("Latency", unit="Milliseconds", values=values)])
    assert (result.entries, result.requests, len(counter.bodies)) == (3, 1, 1)
    dims = {"Environment": "test-env"}
    assert get_values(aws.client("cloudwatch"), "Latency", dims, "Milliseconds") == [sum(values)]


def test_invalid_datum_sends_nothing(hook: CloudWatchMetricsHook, aws: LocalAws) -> None:
    counter = RequestCounter(hook.conn)
    with pytest.raises(MetricValidationError, match=r"metric 'Bad': value nan is not finite"):
        hook.put_metrics([MetricDatum("Good", 1), MetricDatum("Bad", math.nan)])
    assert counter.bodies == []
    assert aws.client("cloudwatch").list_metrics(Namespace="MWAA-Custom")["Metrics"] == []


def test_missing_environment_name_is_a_clear_error(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_ENV_NAME", raising=False)
    with pytest.raises(MetricValidationError, match="set AIRFLOW_ENV_NAME"):
        CloudWatchMetricsHook().put_metrics([MetricDatum("M", 1)])


def test_explicit_environment_host_and_namespace(aws: LocalAws) -> None:
    import socket

    hook = CloudWatchMetricsHook(namespace="Team/Data", environment_name="staging", include_host=True)
    hook.put_metrics([MetricDatum("M", 7, "Count")])
    dims = {"Environment": "staging", "Host": socket.gethostname()}
    assert get_values(aws.client("cloudwatch"), "M", dims, "Count", namespace="Team/Data") == [7.0]


def test_throttled_put_is_retried_then_reports_what_was_not_sent(hook: CloudWatchMetricsHook) -> None:
    datums = [MetricDatum(f"M{i}", i, "Count") for i in range(1500)]
    with Stubber(hook.conn) as stub:
        stub.add_response("put_metric_data", {})
        for _ in range(4):  # max_attempts: throttling stored nothing, so it is sent again
            stub.add_client_error("put_metric_data", "Throttling", "Rate exceeded", http_status_code=400)
        with pytest.raises(MetricsPublishError) as info:
            hook.put_metrics(datums)
        stub.assert_no_pending_responses()
    assert str(info.value) == (
        "PutMetricData to 'MWAA-Custom': 1000 of 1500 entries sent in 1 request(s); 0 lost, 0 rejected, "
        "500 not sent: Throttling: Rate exceeded (not delivered; safe to send again)"
    )
    assert (info.value.result.attempts, len(info.value.result.unsent)) == (5, 500)


def test_unreachable_endpoint_fails_within_the_retry_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("AIRFLOW_ENV_NAME", "e")
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_CLOSED",
        '{"conn_type": "aws", "extra": {"region_name": "us-east-1", "endpoint_url": "http://127.0.0.1:9"}}',
    )
    hook = CloudWatchMetricsHook(aws_conn_id="aws_closed", max_attempts=2)
    started = time.monotonic()
    with pytest.raises(MetricsPublishError, match="1 not sent: Could not connect") as info:
        hook.put_metrics([MetricDatum("M", 1)])
    assert time.monotonic() - started < 15
    assert info.value.result.attempts == 2


# -- Faults between the hook and CloudWatch: a datum is stored once or not at all. --------------


@pytest.fixture
def proxy(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultyHttpProxy]:
    """moto's CloudWatch behind a fault-injecting proxy; ``aws_faulty`` points at the proxy."""
    with FaultyHttpProxy(aws.endpoint_url) as faulty:
        monkeypatch.setenv(
            "AIRFLOW_CONN_AWS_FAULTY",
            f'{{"conn_type": "aws", "extra": {{"region_name": "us-east-1", "endpoint_url": "{faulty.url}"}}}}',
        )
        monkeypatch.setenv("AIRFLOW_ENV_NAME", "faults")
        yield faulty


def stored_count(aws: LocalAws, name: str, dims: dict[str, str], namespace: str = "MWAA-Custom") -> float:
    """How many data of one metric CloudWatch stored (the sum of their sample counts)."""
    return sum(get_values(aws.client("cloudwatch"), name, dims, "Count", namespace, stat="SampleCount"))


def faulty_hook(**kwargs: Any) -> CloudWatchMetricsHook:
    config = cloudwatch_client_config(connect_timeout=1, read_timeout=2)
    return CloudWatchMetricsHook(aws_conn_id="aws_faulty", config=config, **kwargs)


@pytest.mark.parametrize("fault", ["late", "hang_after_forward", "reset_after_forward"])
def test_a_request_that_may_have_arrived_is_never_sent_again(
    proxy: FaultyHttpProxy, aws: LocalAws, fault: str
) -> None:
    proxy.set_fault(fault, delay=4)
    hook = faulty_hook(max_attempts=4)
    with pytest.raises(MetricsPublishError, match="may have been stored; not sent again") as info:
        hook.put_metrics([MetricDatum("Finished", 1, "Count")])
    assert (info.value.result.lost, info.value.result.attempts) == (1, 1)
    assert proxy.received == proxy.forwarded == 1
    assert stored_count(aws, "Finished", {"Environment": "faults"}) == 1.0  # once, never twice


def test_hung_cloudwatch_costs_at_most_the_time_budget(proxy: FaultyHttpProxy, aws: LocalAws) -> None:
    import time

    proxy.set_fault("hang")
    hook = faulty_hook(time_budget=5)
    started = time.monotonic()
    with pytest.raises(MetricsPublishError, match="Read timeout") as info:
        hook.put_metrics([MetricDatum(f"M{i}", i, "Count") for i in range(1500)])
    # The read timeout (2 s) was waited out once; no upper bound on wall time here (a loaded CI
    # machine adds seconds of our own work): the budget shows in what was and was not sent.
    assert time.monotonic() - started >= 2
    assert proxy.received == 1  # one attempt, and the second request never starts in the budget
    result = info.value.result
    assert (result.entries, result.lost, len(result.unsent)) == (0, 1000, 500)
    assert aws.client("cloudwatch").list_metrics(Namespace="MWAA-Custom")["Metrics"] == []


@pytest.mark.parametrize("fault", ["throttle", "refuse"])
def test_what_cannot_have_arrived_is_sent_again(proxy: FaultyHttpProxy, aws: LocalAws, fault: str) -> None:
    hook = faulty_hook(max_attempts=6)
    sends: list[int] = []

    def count(**_: Any) -> None:
        sends.append(1)
        if fault == "refuse" and len(sends) == 3:  # nothing listened twice; CloudWatch is back
            proxy.set_fault("pass")

    hook.conn.meta.events.register("before-send.cloudwatch.PutMetricData", count)
    proxy.set_fault(fault, times=2)
    result = hook.put_metrics([MetricDatum("Finished", 1, "Count")])
    assert (result.entries, result.lost, result.complete) == (1, 0, True)
    assert result.attempts == len(sends) == 3
    assert proxy.forwarded == 1
    assert stored_count(aws, "Finished", {"Environment": "faults"}) == 1.0


HOOK_CELLS = {
    # fault -> (proxy delay, data stored, what the error says); 30 data in one request
    "pass": (0.0, 30, ""),
    "late": (4.0, 30, "may have been stored; not sent again"),
    "hang": (0.0, 0, "may have been stored; not sent again"),
    "hang_after_forward": (0.0, 30, "may have been stored; not sent again"),
    "reset_after_forward": (0.0, 30, "may have been stored; not sent again"),
    "throttle": (0.0, 0, "not delivered; safe to send again"),
    "refuse": (0.0, 0, "not delivered; safe to send again"),
}


@pytest.mark.parametrize("fault", list(HOOK_CELLS))
def test_fault_matrix_hook_never_stores_a_datum_twice(
    proxy: FaultyHttpProxy, aws: LocalAws, fault: str
) -> None:
    """Every fault for a whole call, then the same call again once CloudWatch is back.

    Prints one row of the closing note's table (``-s`` shows it).
    """
    import time

    delay, stored_first, says = HOOK_CELLS[fault]
    hook = faulty_hook(time_budget=8)
    datums = [MetricDatum(f"M{i % 3}", 1, "Count") for i in range(30)]
    assert hook.conn is not None  # the connection lookup and the client are not timed
    proxy.set_fault(fault, delay=delay)
    started = time.monotonic()
    message = ""
    try:
        result = hook.put_metrics(datums)
    except MetricsPublishError as err:
        result, message = err.result, str(err)
    elapsed = time.monotonic() - started
    assert says in message
    assert elapsed < 8
    assert result.entries + result.lost + result.rejected + len(result.unsent) == 30
    assert _stored(aws) == stored_first
    # CloudWatch back: the caller re-sends only what was not delivered (result.unsent).
    proxy.set_fault("pass")
    resent = put_entries(hook.conn, "MWAA-Custom", list(result.unsent)) if result.unsent else None
    final = _stored(aws)
    assert final == stored_first + (resent.entries if resent else 0) <= 30  # never doubled
    print(
        f"\nMATRIX hook | {fault:<19} | stored {final:.0f}/30 | lost (reported) {result.lost} | "
        f"doubled {max(final - 30, 0):.0f} | call took {elapsed:.2f} s | attempts {result.attempts} | "
        f"re-sent later {resent.entries if resent else 0}"
    )


def _stored(aws: LocalAws) -> float:
    return sum(stored_count(aws, f"M{i}", {"Environment": "faults"}) for i in range(3))


def test_a_client_that_retries_by_itself_is_refused(aws: LocalAws) -> None:
    entries = [{"MetricName": "M", "Value": 1.0, "Unit": "Count"}]
    with pytest.raises(UsageError, match="botocore resend PutMetricData"):
        put_entries(aws.client("cloudwatch"), "N", entries)


def test_a_given_config_keeps_its_timeouts_but_never_botocore_retries(aws: LocalAws) -> None:
    from botocore.config import Config

    given = Config(read_timeout=7, retries={"mode": "standard", "max_attempts": 10})
    hook = CloudWatchMetricsHook(config=given)
    assert hook.conn.meta.config.read_timeout == 7
    assert hook.conn.meta.config.retries["total_max_attempts"] == 1


# -- Invalid data: all of them reported; skip on request. ---------------------------------------


def test_every_invalid_datum_is_counted_and_the_first_few_named(hook: CloudWatchMetricsHook) -> None:
    datums = [MetricDatum(f"M{i}", math.nan if i % 28 == 5 else i, "Count") for i in range(2500)]
    counter = RequestCounter(hook.conn)
    with pytest.raises(MetricValidationError) as info:
        hook.put_metrics(datums)
    message = str(info.value)
    assert message.startswith("90 of 2500 metric data are invalid: #5 metric 'M5': value nan is not finite")
    assert message.endswith("; and 85 more")
    assert message.count("not finite") == 5
    assert counter.bodies == []


def test_skip_sends_the_valid_data_and_counts_the_rest(hook: CloudWatchMetricsHook, aws: LocalAws) -> None:
    datums = [MetricDatum("Good", 1, "Count"), MetricDatum("Bad", math.inf), MetricDatum("Good", 2, "Count")]
    result = hook.put_metrics(datums, on_invalid="skip")
    assert (result.entries, result.skipped) == (2, 1)
    assert get_values(aws.client("cloudwatch"), "Good", {"Environment": "test-env"}, "Count") == [3.0]


def test_too_many_dimensions_says_how_many_are_defaults(hook: CloudWatchMetricsHook) -> None:
    own = {f"D{i}": "v" for i in range(31)}
    with pytest.raises(MetricValidationError) as info:
        hook.put_metrics([MetricDatum("Wide", 1, dimensions=own)], category="Pipelines")
    assert (
        "has 33 dimensions (31 of its own + 2 default: Environment, Category); CloudWatch allows 30"
        in str(info.value)
    )
