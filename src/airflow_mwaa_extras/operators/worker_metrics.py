"""Sample the worker that runs the task and publish its resources as CloudWatch metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.metrics.datum import DEFAULT_NAMESPACE
from airflow_mwaa_extras.version_compat import BaseOperator

if TYPE_CHECKING:
    from airflow_mwaa_extras.hooks.cloudwatch_metrics import CloudWatchMetricsHook
    from airflow_mwaa_extras.version_compat import Context

__all__ = ["DEFAULT_CATEGORY", "WorkerMetricsOperator"]

DEFAULT_CATEGORY = "WorkerResources"


class WorkerMetricsOperator(BaseOperator):
    """Publish memory, CPU, disk, load average and process count of this worker in one batch.

    Memory and CPU come from the container's cgroup (v2 or v1) when it has limits, else from
    the host (psutil). CPU is measured over ``cpu_interval`` seconds. The metric set (13 data
    with the two default folders) goes out in one PutMetricData request.

    :param namespace: CloudWatch namespace (templated).
    :param environment_name: ``Environment`` dimension; ``$AIRFLOW_ENV_NAME`` when empty (templated).
    :param category: ``Category`` dimension (templated).
    :param include_host: add the worker's host name as ``Host`` (a metric stream per worker).
    :param cpu_interval: seconds over which CPU use is measured.
    :param paths: label -> folder whose file system is measured (the ``Volume`` dimension);
        default: the Airflow home and the temp dir (templated).
    :param aws_conn_id: the Airflow ``aws`` connection.
    :param region_name: the AWS region; the connection's when not given.
    """

    template_fields: Sequence[str] = ("namespace", "environment_name", "category", "paths")

    def __init__(
        self,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        environment_name: str | None = None,
        category: str = DEFAULT_CATEGORY,
        include_host: bool = False,
        cpu_interval: float = 1.0,
        paths: Mapping[str, str] | None = None,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.namespace = namespace
        self.environment_name = environment_name
        self.category = category
        self.include_host = include_host
        self.cpu_interval = cpu_interval
        self.paths = paths
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name

    @cached_property
    def hook(self) -> CloudWatchMetricsHook:
        from airflow_mwaa_extras.hooks.cloudwatch_metrics import CloudWatchMetricsHook

        return CloudWatchMetricsHook(
            namespace=self.namespace,
            environment_name=self.environment_name or None,
            include_host=self.include_host,
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
        )

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mwaa_extras.metrics.dimensions import environment_name
        from airflow_mwaa_extras.metrics.worker_sample import sample_worker

        environment_name(self.environment_name or None)  # fail before sampling, not after
        sample = sample_worker(self.cpu_interval, dict(self.paths) if self.paths is not None else None)
        datums = sample.to_datums()
        self.log.info("Sampled %d worker metrics (memory and CPU from %s)", len(datums), sample.source)
        result = self.hook.put_metrics(datums, category=self.category)
        # The XCom holds only numbers and metric names: enough for a downstream check.
        return {
            "namespace": result.namespace,
            "requests": result.requests,
            "source": sample.source,
            "metrics": {":".join([d.name, *d.dimensions.values()]): d.value for d in datums},
        }
