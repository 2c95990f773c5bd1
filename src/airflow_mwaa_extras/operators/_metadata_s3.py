"""What the metadata export and cleanup operators share: where the archive goes and the hook."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.metadata.manifest import DEFAULT_KEY_TEMPLATE, DEFAULT_MANIFEST_TEMPLATE
from airflow_mwaa_extras.version_compat import BaseOperator

if TYPE_CHECKING:
    from airflow_mwaa_extras.hooks.metadata_db import MetadataDbHook
    from airflow_mwaa_extras.metadata.export import ExportSettings
    from airflow_mwaa_extras.version_compat import Context

__all__ = ["MetadataToS3BaseOperator"]


class MetadataToS3BaseOperator(BaseOperator):
    """Base of the operators that write metadata rows to S3 (not a task on its own).

    :param fmt: ``csv`` or ``jsonl``.
    :param gzip: gzip each object.
    :param key_template: object key with ``{table}`` and ``{attempt}`` (both required) and
        ``{date}``, ``{dag_id}``, ``{run_id}``, ``{task_id}``, ``{ext}`` (templated).
    :param manifest_key_template: manifest key, same placeholders, ``{attempt}`` required (templated).
    :param environment_name: MWAA environment on Airflow 3; ``$AIRFLOW_ENV_NAME`` when empty (templated).
    :param aws_conn_id: the Airflow ``aws`` connection.
    :param region_name: the AWS region; the connection's when not given.
    """

    template_fields: Sequence[str] = ("key_template", "manifest_key_template", "environment_name")

    def __init__(
        self,
        *,
        fmt: str = "csv",
        gzip: bool = False,
        key_template: str = DEFAULT_KEY_TEMPLATE,
        manifest_key_template: str = DEFAULT_MANIFEST_TEMPLATE,
        environment_name: str | None = None,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.fmt = fmt
        self.gzip = gzip
        self.key_template = key_template
        self.manifest_key_template = manifest_key_template
        self.environment_name = environment_name
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name

    @cached_property
    def hook(self) -> MetadataDbHook:
        from airflow_mwaa_extras.hooks.metadata_db import MetadataDbHook

        return MetadataDbHook(
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            environment_name=self.environment_name or None,
        )

    def export_settings(self, bucket: str, context: Context, **extra: Any) -> ExportSettings:
        """The S3 settings of this try: keys name the DAG run, the task and this attempt, so a
        retry or a cleared task writes new objects next to the earlier tries' ones."""
        from airflow_mwaa_extras.metadata.export import ExportSettings

        ti = context.get("ti")
        try_number = getattr(ti, "try_number", None)
        return ExportSettings(
            bucket=bucket,
            fmt=self.fmt,
            gzip=self.gzip,
            key_template=self.key_template,
            manifest_key_template=self.manifest_key_template,
            run_id=str(context["run_id"]),
            dag_id=str(getattr(ti, "dag_id", None) or self.dag_id),
            task_id=self.task_id,
            try_number=try_number if isinstance(try_number, int) else None,
            **extra,
        ).validated()

    def report_earlier_attempts(self, settings: ExportSettings, context: Context) -> list[str]:
        """Log (and push as XCom ``earlier_manifests``) the manifests earlier tries left."""
        try:
            found = settings.earlier_manifests(self.hook.s3_client)
        except Exception as err:  # listing is a courtesy: never fail the archive for it
            self.log.warning("Could not list earlier manifests (needs s3:ListBucket): %s", err)
            return []
        for key in found:
            self.log.info("An earlier try of this task left s3://%s/%s", settings.bucket, key)
        ti = context.get("ti")
        if found and ti is not None:
            ti.xcom_push(key="earlier_manifests", value=found)
        return found
