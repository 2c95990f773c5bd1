"""Publish custom CloudWatch metrics from Airflow through the ``aws`` connection."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

from airflow_mwaa_extras.metrics.datum import (
    DEFAULT_NAMESPACE,
    MetricDatum,
    MetricValidationError,
    check_datums,
    check_namespace,
)
from airflow_mwaa_extras.metrics.dimensions import default_dimensions
from airflow_mwaa_extras.metrics.publish import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_TIME_BUDGET,
    MetricsPublishError,
    PublishResult,
    cloudwatch_client_config,
    failure_message,
    put_entries,
)

__all__ = ["CloudWatchMetricsHook"]


class CloudWatchMetricsHook(AwsBaseHook):
    """Shape, check and batch metric data into as few PutMetricData requests as CloudWatch allows.

    Every datum gets the default dimensions ``Environment`` (``environment_name`` or
    ``$AIRFLOW_ENV_NAME``) and ``Category`` when given; ``Host`` (the host name) only with
    ``include_host``. A datum's own dimensions win over the defaults.

    PutMetricData is not idempotent, so a request that may have been stored is never sent
    again (see :mod:`airflow_mwaa_extras.metrics.publish`); botocore's own retries are off,
    also when a ``config`` is given (its timeouts are kept).

    :param namespace: the CloudWatch namespace (default ``MWAA-Custom``).
    :param environment_name: the ``Environment`` dimension; ``$AIRFLOW_ENV_NAME`` when not given.
    :param include_host: add a ``Host`` dimension (one metric stream per worker: costs grow).
    :param max_attempts: attempts per request; only a refused connection and throttling are
        retried (they cannot have stored anything), never a timeout or a 5xx answer.
    :param time_budget: seconds one ``put_metrics`` call may take at most, retries included.
    :param aws_conn_id: the Airflow ``aws`` connection (default ``aws_default``).
    :param region_name: the AWS region; the connection's when not given.
    """

    def __init__(
        self,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        environment_name: str | None = None,
        include_host: bool = False,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        time_budget: float = DEFAULT_TIME_BUDGET,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        # botocore must never resend PutMetricData: a given config keeps its timeouts only.
        kwargs["config"] = cloudwatch_client_config(base=kwargs.get("config"))
        super().__init__(aws_conn_id=aws_conn_id, region_name=region_name, client_type="cloudwatch", **kwargs)
        self.namespace = namespace
        self.environment_name = environment_name
        self.include_host = include_host
        self.max_attempts = max_attempts
        self.time_budget = time_budget

    def put_metrics(
        self,
        datums: Sequence[MetricDatum],
        *,
        category: str | None = None,
        namespace: str | None = None,
        on_invalid: Literal["raise", "skip"] = "raise",
    ) -> PublishResult:
        """Check every datum, then send them batched; return what was sent.

        :param datums: the metric data.
        :param category: the ``Category`` dimension of these data.
        :param namespace: overrides the hook's namespace for this call.
        :param on_invalid: ``"raise"`` (default): one invalid datum means nothing is sent;
            ``"skip"``: send the valid data, log the invalid ones, and count them in ``skipped``.
        :raises MetricValidationError: invalid data (how many, and the first few), nothing sent.
        :raises MetricsPublishError: not every entry was delivered; ``.result`` says which part
            was sent, lost (may have been stored, never resent) or not sent.
        """
        if on_invalid not in ("raise", "skip"):
            raise MetricValidationError(f"on_invalid must be 'raise' or 'skip', got {on_invalid!r}")
        target = check_namespace(namespace or self.namespace)
        dims = default_dimensions(self.environment_name, category, self.include_host)
        checked = check_datums(datums, default_dimensions=dims)
        if checked.problems:
            if on_invalid == "raise":
                raise checked.error()
            self.log.warning("Skipping invalid metric data: %s", checked.error())
        result = put_entries(
            self.conn, target, checked.entries, max_attempts=self.max_attempts, time_budget=self.time_budget
        )
        result = dataclasses.replace(result, skipped=len(checked.problems))
        if not result.complete:
            raise MetricsPublishError(failure_message(result, len(checked.entries)), result)
        self.log.info(
            "Published %d metric entries to %s in %d PutMetricData request(s)%s",
            result.entries,
            target,
            result.requests,
            f"; skipped {result.skipped} invalid" if result.skipped else "",
        )
        return result
