"""Export metadata tables (DAG runs, task instances, task failures, audit log) to S3."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.operators._metadata_s3 import MetadataToS3BaseOperator

if TYPE_CHECKING:
    from airflow_mwaa_extras.version_compat import Context

__all__ = ["MetadataExportOperator"]


class MetadataExportOperator(MetadataToS3BaseOperator):
    """Stream metadata rows dated in a window to S3 (CSV or JSON Lines) and push the manifest key.

    On Airflow 2 the rows come from the metadata DB (PostgreSQL ``COPY`` on MWAA); on Airflow 3
    they come through the environment's REST API (InvokeRestApi), which carries the columns
    listed in docs/metadata.md. The return value (XCom) is the manifest's S3 key.

    :param bucket: the S3 bucket (templated).
    :param tables: tables to export; default DAG runs, task instances, task failures (Airflow 2)
        and the audit log (templated).
    :param older_than_days: export rows older than this many days (templated).
    :param newer_than_days: export rows newer than this many days (templated).
    :param method: database read path: ``auto``, ``copy`` or ``portable`` (Airflow 2).

    The archive settings (``fmt``, ``gzip``, ``key_template``, ``manifest_key_template``,
    ``environment_name``, ``aws_conn_id``, ``region_name``) are
    :class:`~airflow_mwaa_extras.operators._metadata_s3.MetadataToS3BaseOperator`'s.
    """

    template_fields: Sequence[str] = (
        "bucket",
        "tables",
        "older_than_days",
        "newer_than_days",
        *MetadataToS3BaseOperator.template_fields,
    )

    def __init__(
        self,
        *,
        bucket: str,
        tables: Sequence[str] | None = None,
        older_than_days: int | str | None = None,
        newer_than_days: int | str | None = None,
        method: str = "auto",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bucket = bucket
        self.tables = tables
        self.older_than_days = older_than_days
        self.newer_than_days = newer_than_days
        self.method = method

    def execute(self, context: Context) -> str:
        from airflow_mwaa_extras.metadata.export import export_metadata
        from airflow_mwaa_extras.metadata.manifest import utc_now
        from airflow_mwaa_extras.metadata.rest_export import export_via_rest

        now = utc_now()
        older = (
            now - timedelta(days=_days("older_than_days", self.older_than_days))
            if self.older_than_days
            else None
        )
        newer = (
            now - timedelta(days=_days("newer_than_days", self.newer_than_days))
            if self.newer_than_days
            else None
        )
        settings = self.export_settings(self.bucket, context, method=self.method)
        self.report_earlier_attempts(settings, context)
        tables = list(self.tables) if self.tables else None
        if self.hook.uses_database:
            result = export_metadata(
                self.hook.engine,
                self.hook.s3_client,
                settings,
                tables=tables,
                newer_than=newer,
                older_than=older,
            )
        else:
            result = export_via_rest(
                self.hook.rest_fetcher(),
                self.hook.s3_client,
                settings,
                api_version="v2",
                tables=tables,
                newer_than=newer,
                older_than=older,
            )
        for obj in result.manifest.objects:
            self.log.info(
                "Exported %d %s rows to s3://%s/%s (%d bytes)",
                obj.rows,
                obj.table,
                self.bucket,
                obj.key,
                obj.bytes,
            )
        self.log.info("Manifest: s3://%s/%s", self.bucket, result.manifest_key)
        return result.manifest_key


def _days(name: str, value: int | str | None) -> int:
    try:
        days = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be a whole number of days, got {value!r}") from None
    if days < 0:
        raise UsageError(f"{name} must be >= 0, got {days}")
    return days
