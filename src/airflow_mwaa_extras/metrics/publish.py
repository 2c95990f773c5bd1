"""Send shaped metric entries to CloudWatch: never twice, and within a time budget per call.

PutMetricData is not idempotent: a sum or a count sent twice is counted twice. So there is
one retry layer, this module's, and botocore's own retries are off (``total_max_attempts=1``;
:func:`put_entries` refuses a client that would retry by itself). A request is sent again only
when it cannot have reached CloudWatch: the connection was refused or timed out while
connecting, or CloudWatch throttled it. After a read timeout, a dropped connection or a 5xx
answer the request may have been stored: its entries are counted as ``lost`` and never resent
(a lost datum is better than a doubled count). A call never starts an attempt that could not
finish within its ``time_budget``; the entries it did not get to are returned as ``unsent``,
safe to send later.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError
from airflow_mwaa_extras.metrics.batching import plan_requests
from airflow_mwaa_extras.metrics.datum import MetricDatum, check_namespace, shape_datums

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_READ_TIMEOUT",
    "DEFAULT_TIME_BUDGET",
    "MetricsPublishError",
    "PublishResult",
    "cloudwatch_client_config",
    "failure_message",
    "outcome_text",
    "put_entries",
    "put_metrics",
]

# Attempts per request, counting only failures that cannot have stored anything.
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_CONNECT_TIMEOUT = 3.0
DEFAULT_READ_TIMEOUT = 10.0
# Seconds one put_entries call may take at most, every request and back-off included.
DEFAULT_TIME_BUDGET = 30.0
_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
    }
)
_BACKOFF_BASE = 0.2
_BACKOFF_CAP = 5.0


class MetricsPublishError(MwaaExtrasError):
    """PutMetricData did not deliver every entry; ``result`` says what happened to each part."""

    def __init__(self, message: str, result: PublishResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class PublishResult:
    """What one publish did with its entries.

    :param namespace: the namespace the entries went to.
    :param entries: entries CloudWatch accepted.
    :param requests: PutMetricData requests CloudWatch accepted.
    :param lost: entries of requests that may or may not have been stored (read timeout,
        dropped connection, 5xx); never sent again.
    :param rejected: entries CloudWatch refused (4xx other than throttling): not stored.
    :param unsent: entries that never reached CloudWatch: safe to send again.
    :param attempts: PutMetricData attempts made (every HTTP request counts).
    :param error: the first failure, one line; empty when everything was delivered.
    :param skipped: invalid data left out (``on_invalid="skip"``).
    """

    namespace: str
    entries: int
    requests: int
    lost: int = 0
    rejected: int = 0
    unsent: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    attempts: int = 0
    error: str = ""
    skipped: int = 0

    @property
    def complete(self) -> bool:
        return not (self.lost or self.rejected or self.unsent)


def cloudwatch_client_config(
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    base: Any = None,
) -> Any:
    """A botocore ``Config`` for PutMetricData: botocore never resends (this module decides).

    :param connect_timeout: seconds to open a connection.
    :param read_timeout: seconds to wait for each read of the answer.
    :param base: a ``Config`` to keep (timeouts and all) but for its retry settings; the
        timeouts given here are then not used.
    """
    from botocore.config import Config

    if base is not None:
        return base.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))
    return Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )


def _check_single_attempt(client: BaseClient) -> None:
    config: Any = client.meta.config  # botocore-stubs' Config lacks the attributes it sets
    retries = config.retries or {}
    if retries.get("total_max_attempts") != 1 and retries.get("max_attempts") != 0:
        raise UsageError(
            "this CloudWatch client lets botocore resend PutMetricData, which can count data twice; "
            "create it with config=cloudwatch_client_config()"
        )


def _attempt_seconds(client: BaseClient) -> float:
    config: Any = client.meta.config
    return float(config.connect_timeout or 60) + float(config.read_timeout or 60)


def _classify(err: Exception) -> tuple[str, str]:
    """('retry' | 'lost' | 'rejected', one line) for a failed PutMetricData attempt."""
    from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        line = f"{error.get('Code', status or 'error')}: {error.get('Message') or err}"
        if error.get("Code") in _THROTTLING_CODES or status == 429:
            return "retry", line
        return ("lost" if status >= 500 else "rejected"), line
    # Nothing was sent when the connection could not be opened.
    if isinstance(err, EndpointConnectionError | ConnectTimeoutError):
        return "retry", str(err)
    return "lost", str(err) or type(err).__name__


def _backoff(attempt: int) -> float:
    return float(random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt)))


def _send_request(
    client: BaseClient, namespace: str, batch: list[dict[str, Any]], deadline: float, max_attempts: int
) -> tuple[str, str, int]:
    """Send one request: ('sent' | 'retry' | 'lost' | 'rejected', error line, attempts made)."""
    per_attempt = _attempt_seconds(client)
    outcome, line = "retry", "time budget spent"
    for attempt in range(max_attempts):
        if deadline - time.monotonic() < per_attempt:
            return "retry", line if attempt else "time budget spent before the request", attempt
        try:
            # boto3-stubs (in MWAA's image) types BaseClient without service methods.
            client.put_metric_data(Namespace=namespace, MetricData=batch)  # type: ignore[attr-defined]
            return "sent", "", attempt + 1
        except Exception as err:  # classified below; unknown errors count as "may have arrived"
            outcome, line = _classify(err)
        if outcome != "retry":
            return outcome, line, attempt + 1
        pause = _backoff(attempt)
        if deadline - time.monotonic() - pause < per_attempt:
            return "retry", line, attempt + 1
        time.sleep(pause)
    return outcome, line, max_attempts


def put_entries(
    client: BaseClient,
    namespace: str,
    entries: Sequence[dict[str, Any]],
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    time_budget: float = DEFAULT_TIME_BUDGET,
) -> PublishResult:
    """Send shaped entries batched; never raises for CloudWatch's failures, the result says them.

    Stops at the first request that fails for good; the entries after it are ``unsent``.

    :param client: a CloudWatch client made with :func:`cloudwatch_client_config`.
    :param max_attempts: attempts per request for failures that cannot have stored anything.
    :param time_budget: seconds this call may take; must hold at least one attempt's timeouts.
    """
    namespace = check_namespace(namespace)
    _check_single_attempt(client)
    if time_budget < _attempt_seconds(client):
        raise UsageError(
            f"time_budget {time_budget:g} s is shorter than one attempt's connect + read timeouts "
            f"({_attempt_seconds(client):g} s)"
        )
    deadline = time.monotonic() + time_budget
    batches = list(plan_requests(entries, namespace))
    sent = requests = attempts = lost = rejected = 0
    for index, batch in enumerate(batches):
        outcome, line, made = _send_request(client, namespace, batch, deadline, max(1, max_attempts))
        attempts += made
        if outcome == "sent":
            sent, requests = sent + len(batch), requests + 1
            continue
        lost = len(batch) if outcome == "lost" else 0
        rejected = len(batch) if outcome == "rejected" else 0
        unsent = [e for b in batches[index + (outcome != "retry") :] for e in b]
        return PublishResult(
            namespace,
            sent,
            requests,
            lost,
            rejected,
            tuple(unsent),
            attempts,
            f"{line} ({outcome_text(outcome)})",
        )
    return PublishResult(namespace, sent, requests, attempts=attempts)


def outcome_text(outcome: str) -> str:
    return {
        "retry": "not delivered; safe to send again",
        "lost": "may have been stored; not sent again",
        "rejected": "refused by CloudWatch; not stored",
    }[outcome]


def failure_message(result: PublishResult, total: int) -> str:
    """One line for a publish that did not deliver everything."""
    return (
        f"PutMetricData to {result.namespace!r}: {result.entries} of {total} entries sent in "
        f"{result.requests} request(s); {result.lost} lost, {result.rejected} rejected, "
        f"{len(result.unsent)} not sent: {result.error}"
    )


def put_metrics(
    client: BaseClient,
    namespace: str,
    datums: Sequence[MetricDatum],
    *,
    default_dimensions: Mapping[str, str] | None = None,
    time_budget: float = DEFAULT_TIME_BUDGET,
) -> PublishResult:
    """Check ``datums`` (all before sending any), then send them batched."""
    check_namespace(namespace)
    entries = shape_datums(datums, default_dimensions=default_dimensions)
    return put_entries(client, namespace, entries, time_budget=time_budget)
