"""Publish custom CloudWatch metrics from Airflow through the ``aws`` connection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

from airflow_mwaa_extras.metrics.datum import DEFAULT_NAMESPACE, MetricDatum, check_namespace
from airflow_mwaa_extras.metrics.dimensions import default_dimensions
from airflow_mwaa_extras.metrics.publish import (
    DEFAULT_MAX_ATTEMPTS,
    PublishResult,
    cloudwatch_client_config,
    put_metrics,
)


class CloudWatchMetricsHook(AwsBaseHook):
    """Shape, check and batch metric data into as few PutMetricData requests as CloudWatch allows.

    Every datum gets the default dimensions ``Environment`` (``environment_name`` or
    ``$AIRFLOW_ENV_NAME``) and ``Category`` when given; ``Host`` (the host name) only with
    ``include_host``. A datum's own dimensions win over the defaults.

    :param namespace: the CloudWatch namespace (default ``MWAA-Custom``).
    :param environment_name: the ``Environment`` dimension; ``$AIRFLOW_ENV_NAME`` when not given.
    :param include_host: add a ``Host`` dimension (one metric stream per worker: costs grow).
    :param max_attempts: attempts per request, throttling and 5xx answers included.
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
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("config", cloudwatch_client_config(max_attempts=max_attempts))
        super().__init__(aws_conn_id=aws_conn_id, region_name=region_name, client_type="cloudwatch", **kwargs)
        self.namespace = namespace
        self.environment_name = environment_name
        self.include_host = include_host

    def put_metrics(
        self,
        datums: Sequence[MetricDatum],
        *,
        category: str | None = None,
        namespace: str | None = None,
    ) -> PublishResult:
        """Check every datum, then send them batched; return how many requests went out.

        :param datums: the metric data.
        :param category: the ``Category`` dimension of these data.
        :param namespace: overrides the hook's namespace for this call.
        :raises MetricValidationError: a datum breaks a CloudWatch rule (nothing was sent).
        :raises MetricsPublishError: CloudWatch refused a request after the bounded retries.
        """
        target = check_namespace(namespace or self.namespace)
        dims = default_dimensions(self.environment_name, category, self.include_host)
        result = put_metrics(self.conn, target, datums, default_dimensions=dims)
        self.log.info(
            "Published %d metric entries to %s in %d PutMetricData request(s)",
            result.entries,
            target,
            result.requests,
        )
        return result
