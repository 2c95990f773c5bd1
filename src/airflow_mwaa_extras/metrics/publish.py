"""Send shaped metric entries to CloudWatch in as few PutMetricData requests as the limits allow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError
from airflow_mwaa_extras.metrics.batching import plan_requests
from airflow_mwaa_extras.metrics.datum import MetricDatum, check_namespace, shape_datums

if TYPE_CHECKING:
    from botocore.client import BaseClient

# Bounded retries for throttling and 5xx answers; botocore's "standard" mode backs off with jitter.
DEFAULT_MAX_ATTEMPTS = 4


class MetricsPublishError(MwaaExtrasError):
    """PutMetricData failed after botocore's bounded retries."""


@dataclass(frozen=True)
class PublishResult:
    """What one publish did: how many entries went out in how many requests."""

    namespace: str
    entries: int
    requests: int


def cloudwatch_client_config(
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    connect_timeout: float = 5,
    read_timeout: float = 30,
) -> Any:
    """A botocore ``Config`` with bounded retries and timeouts, so a publish never hangs a worker."""
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )


def put_entries(client: BaseClient, namespace: str, entries: Sequence[dict[str, Any]]) -> PublishResult:
    """Send already shaped entries; raise :class:`MetricsPublishError` naming what was sent."""
    from botocore.exceptions import BotoCoreError, ClientError

    namespace = check_namespace(namespace)
    batches = list(plan_requests(entries, namespace))
    for sent, batch in enumerate(batches):
        try:
            # boto3-stubs (in MWAA's image) types BaseClient without service methods.
            client.put_metric_data(Namespace=namespace, MetricData=batch)  # type: ignore[attr-defined]
        except ClientError as err:
            error = err.response.get("Error", {})
            raise MetricsPublishError(
                f"PutMetricData to {namespace!r} failed after {sent} of {len(batches)} requests: "
                f"{error.get('Code', 'error')}: {error.get('Message', err)}"
            ) from err
        except BotoCoreError as err:
            raise MetricsPublishError(
                f"PutMetricData to {namespace!r} failed after {sent} of {len(batches)} requests: {err}"
            ) from err
    return PublishResult(namespace=namespace, entries=len(entries), requests=len(batches))


def put_metrics(
    client: BaseClient,
    namespace: str,
    datums: Sequence[MetricDatum],
    *,
    default_dimensions: Mapping[str, str] | None = None,
) -> PublishResult:
    """Check ``datums`` (all before sending any), then send them batched."""
    check_namespace(namespace)
    return put_entries(client, namespace, shape_datums(datums, default_dimensions=default_dimensions))
