"""Export metadata tables to S3: streamed, one multipart object per table, plus a manifest."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.metadata import formats
from airflow_mwaa_extras.metadata.manifest import (
    DEFAULT_KEY_TEMPLATE,
    DEFAULT_MANIFEST_TEMPLATE,
    Manifest,
    ManifestObject,
    check_key_template,
    earlier_manifests,
    new_attempt,
    render_key,
    utc_now,
    write_manifest,
)
from airflow_mwaa_extras.metadata.readers import Condition, resolve_method, stream_rows
from airflow_mwaa_extras.metadata.s3_upload import DEFAULT_PART_SIZE, MultipartUploadWriter
from airflow_mwaa_extras.metadata.tables import MetadataSchema, TableSpec, reflect_schema

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = [
    "ExportResult",
    "ExportSettings",
    "check_window",
    "export_metadata",
    "window_condition",
    "upload_tables",
    "write_archive",
]


@dataclass(frozen=True)
class ExportSettings:
    """Where and how to write.

    :param bucket: the S3 bucket.
    :param fmt: ``csv`` or ``jsonl``.
    :param gzip: gzip each object (``.gz`` is added to the extension).
    :param key_template: object key with ``{table}``, ``{attempt}`` and optionally ``{date}``,
        ``{dag_id}``, ``{run_id}``, ``{task_id}``, ``{ext}``; ``{table}`` and ``{attempt}`` are
        required, so no two tables and no two attempts share a key.
    :param manifest_key_template: manifest key, same placeholders (``{table}`` is ``manifest``);
        ``{attempt}`` is required.
    :param run_id: names this export in keys; a random one by default.
    :param method: ``auto`` (``COPY`` on PostgreSQL), ``copy`` or ``portable``.
    :param part_size: multipart part size in bytes.
    :param dag_id: the DAG whose task exports (``{dag_id}``; ``standalone`` outside a task).
    :param task_id: the exporting task (``{task_id}``; ``export`` outside a task).
    :param try_number: the task's try, shown in ``{attempt}`` (``try2-1a2b3c4d``).
    """

    bucket: str
    fmt: str = "csv"
    gzip: bool = False
    key_template: str = DEFAULT_KEY_TEMPLATE
    manifest_key_template: str = DEFAULT_MANIFEST_TEMPLATE
    run_id: str | None = None
    method: str = "auto"
    part_size: int = DEFAULT_PART_SIZE
    dag_id: str = "standalone"
    task_id: str = "export"
    try_number: int | None = None

    def validated(self) -> ExportSettings:
        if not self.bucket or "/" in self.bucket:
            raise UsageError(f"invalid S3 bucket name {self.bucket!r}")
        formats.check_format(self.fmt)
        check_key_template(self.key_template)
        check_key_template(self.manifest_key_template, "manifest_key_template")
        return self

    @property
    def ext(self) -> str:
        return self.fmt + (".gz" if self.gzip else "")

    def new_manifest(
        self,
        now: datetime,
        *,
        newer_than: datetime | None,
        older_than: datetime | None,
        source: str = "database",
    ) -> Manifest:
        """An empty manifest for an export starting ``now``; a random run id when none is set."""
        run_id = self.run_id or f"export_{now.strftime('%Y%m%dT%H%M%SZ')}_{uuid.uuid4().hex[:8]}"
        return Manifest(
            dag_id=self.dag_id,
            task_id=self.task_id,
            try_number=self.try_number,
            attempt=new_attempt(self.try_number),
            bucket=self.bucket,
            run_id=run_id,
            format=self.fmt,
            compression="gzip" if self.gzip else None,
            created_at=formats.format_timestamp(now),
            newer_than=formats.format_timestamp(newer_than) if newer_than else None,
            older_than=formats.format_timestamp(older_than) if older_than else None,
            source=source,
        )

    def object_key(self, manifest: Manifest, table: str, now: datetime) -> str:
        return self._render(self.key_template, manifest, table, self.ext, now)

    def manifest_key(self, manifest: Manifest, now: datetime) -> str:
        return self._render(self.manifest_key_template, manifest, "manifest", "json", now)

    def _render(self, template: str, manifest: Manifest, table: str, ext: str, now: datetime) -> str:
        return render_key(
            template,
            table=table,
            run_id=manifest.run_id,
            ext=ext,
            when=now,
            dag_id=self.dag_id,
            task_id=self.task_id,
            attempt=manifest.attempt or "",
        )

    def earlier_manifests(self, s3_client: Any, exclude: str = "") -> list[str]:
        """Manifests that earlier tries of this task in this DAG run (``run_id``) left in S3."""
        if not self.run_id:
            return []
        return earlier_manifests(
            s3_client,
            self.bucket,
            self.manifest_key_template,
            run_id=self.run_id,
            dag_id=self.dag_id,
            task_id=self.task_id,
            exclude=exclude,
        )


@dataclass(frozen=True)
class ExportResult:
    manifest: Manifest
    manifest_key: str


def window_condition(spec: TableSpec, newer_than: datetime | None, older_than: datetime | None) -> Condition:
    """Rows dated in ``[newer_than, older_than)`` by the spec's time column."""
    from sqlalchemy import and_, true

    def condition(table: Any, dag_run: Any) -> Any:
        column = (dag_run if dag_run is not None else table).c[spec.time_column]
        parts = []
        if newer_than is not None:
            parts.append(column >= newer_than)
        if older_than is not None:
            parts.append(column < older_than)
        return and_(*parts) if parts else true()

    return condition


def check_window(newer_than: datetime | None, older_than: datetime | None) -> None:
    for name, value in (("newer_than", newer_than), ("older_than", older_than)):
        if value is not None and value.tzinfo is None:
            raise UsageError(f"{name} must be timezone-aware (UTC), got {value.isoformat()}")
    if newer_than is not None and older_than is not None and newer_than >= older_than:
        raise UsageError(
            f"newer_than ({newer_than.isoformat()}) must be before older_than ({older_than.isoformat()})"
        )


def upload_tables(
    s3_client: Any,
    settings: ExportSettings,
    manifest: Manifest,
    now: datetime,
    tables: Iterable[tuple[str, Callable[[MultipartUploadWriter], int]]],
) -> ExportResult:
    """Write each table into its own object with its ``write(writer) -> rows``, then the manifest.

    The one upload path of the database and the REST exports, so both write the same layout.
    """
    content_type = "text/csv" if settings.fmt == "csv" else "application/x-ndjson"
    for table, write in tables:
        key = settings.object_key(manifest, table, now)
        with MultipartUploadWriter(
            s3_client,
            settings.bucket,
            key,
            part_size=settings.part_size,
            gzip=settings.gzip,
            content_type=content_type,
        ) as writer:
            rows = write(writer)
        uploaded = writer.close()
        manifest.objects.append(ManifestObject(table, key, rows, uploaded.bytes, uploaded.sha256))
    manifest_key = settings.manifest_key(manifest, now)
    write_manifest(s3_client, manifest, manifest_key)
    return ExportResult(manifest, manifest_key)


def write_archive(
    conn: Connection,
    schema: MetadataSchema,
    s3_client: Any,
    settings: ExportSettings,
    selections: Sequence[tuple[TableSpec, Sequence[Condition]]],
    *,
    newer_than: datetime | None = None,
    older_than: datetime | None = None,
) -> ExportResult:
    """Stream each table's selected rows to its own object, then write the manifest."""
    settings.validated()
    resolve_method(settings.method, conn)
    now = utc_now()
    manifest = settings.new_manifest(now, newer_than=newer_than, older_than=older_than)

    def writer_for(
        spec: TableSpec, conditions: Sequence[Condition]
    ) -> Callable[[MultipartUploadWriter], int]:
        return lambda writer: stream_rows(
            conn, schema, spec, conditions, settings.fmt, writer, method=settings.method
        )

    tables = ((spec.name, writer_for(spec, conditions)) for spec, conditions in selections)
    return upload_tables(s3_client, settings, manifest, now, tables)


def export_metadata(
    engine: Engine,
    s3_client: Any,
    settings: ExportSettings,
    *,
    tables: Sequence[str] | None = None,
    newer_than: datetime | None = None,
    older_than: datetime | None = None,
) -> ExportResult:
    """Export the rows of ``tables`` dated in ``[newer_than, older_than)`` to S3.

    Rows of tables that belong to DAG runs (task instances, task failures) are dated by their
    run, so a window holds whole runs. On PostgreSQL all tables are read in one
    ``REPEATABLE READ`` snapshot, so they agree with each other.
    """
    settings.validated()
    check_window(newer_than, older_than)
    with engine.connect() as probe:
        schema = reflect_schema(probe)
    specs = schema.export_specs(list(tables) if tables is not None else None)
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        selections = [(spec, [window_condition(spec, newer_than, older_than)]) for spec in specs]
        return write_archive(
            conn, schema, s3_client, settings, selections, newer_than=newer_than, older_than=older_than
        )
