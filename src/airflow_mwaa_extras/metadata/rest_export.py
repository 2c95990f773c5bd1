"""Export DAG runs, task instances and the audit log through the Airflow REST API.

On Airflow 3 a task may not touch the metadata DB, so the export pages through the REST API
instead (``/api/v2`` on 3.x, ``/api/v1`` on 2.x) and streams each page to S3. The HTTP side is
a callable ``fetch(path, params) -> JSON`` given by the caller: MWAA's InvokeRestApi in the
operator, a local server in tests. Only the columns in
:data:`~airflow_mwaa_extras.metadata.rest_columns.REST_COLUMNS` are carried (the REST API does
not expose every database column); the docs list them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError
from airflow_mwaa_extras.metadata import formats
from airflow_mwaa_extras.metadata.export import ExportResult, ExportSettings, check_window, upload_tables
from airflow_mwaa_extras.metadata.manifest import utc_now
from airflow_mwaa_extras.metadata.rest_columns import REST_COLUMNS, rest_line
from airflow_mwaa_extras.metadata.s3_upload import MultipartUploadWriter

__all__ = [
    "API_VERSIONS",
    "DEFAULT_PAGE_SIZE",
    "REST_TABLES",
    "Item",
    "PageFetcher",
    "RestExportError",
    "RestSelection",
    "before_params",
    "export_via_rest",
    "iter_items",
    "window_params",
]

PageFetcher = Callable[[str, Mapping[str, Any]], Any]
Item = dict[str, Any]


@dataclass(frozen=True)
class RestSelection:
    """Which rows of one table to export: one or more scans (query parameters), each item
    written when ``accept`` says so (``accept`` also drops an item a second scan sees again)."""

    scans: Sequence[Mapping[str, str]]
    accept: Callable[[Item], bool]


API_VERSIONS = ("v1", "v2")
REST_TABLES = ("dag_run", "task_instance", "log")
DEFAULT_PAGE_SIZE = 100  # Airflow's [api] maximum_page_limit default
_ONE_MICROSECOND = timedelta(microseconds=1)

_ENDPOINTS = {
    "dag_run": ("/dags/~/dagRuns", "dag_runs"),
    "task_instance": ("/dags/~/dagRuns/~/taskInstances", "task_instances"),
    "log": ("/eventLogs", "event_logs"),
}


class RestExportError(MwaaExtrasError):
    """The REST API answered something the export cannot use."""


def _iso(value: datetime) -> str:
    return formats.format_timestamp(value)


def before_params(field: str, when: datetime) -> dict[str, str]:
    """The filter "``field`` strictly before ``when``" in a form every REST API version takes.

    Airflow 3.0's ``/api/v2`` (MWAA 3.0.6) knows only ``_gte``/``_lte`` and silently ignores an
    unknown ``_lt``, so a ``_lt`` filter returned every row there. Airflow keeps microseconds,
    so ``<= when - 1 µs`` selects exactly the rows ``< when`` selects, on 2.x, 3.0 and 3.1+.

    :param field: a date filter's base name, e.g. ``start_date``
    :param when: the exclusive upper bound
    """
    return {f"{field}_lte": _iso(when - _ONE_MICROSECOND)}


def window_params(
    table: str, api_version: str, newer_than: datetime | None, older_than: datetime | None
) -> dict[str, str]:
    """Query parameters selecting ``[newer_than, older_than)`` for one endpoint."""
    params: dict[str, str] = {}
    if table == "log":
        # eventLogs filters are strict on both ends.
        if newer_than is not None:
            params["after"] = _iso(newer_than - _ONE_MICROSECOND)
        if older_than is not None:
            params["before"] = _iso(older_than)
        params["order_by"] = "event_log_id"
        return params
    date = "logical_date" if api_version == "v2" else "execution_date"
    if newer_than is not None:
        params[f"{date}_gte"] = _iso(newer_than)
    if older_than is not None:
        params.update(before_params(date, older_than))
    if table == "dag_run" or api_version == "v2":
        params["order_by"] = "id"
    return params


def iter_items(
    fetch: PageFetcher, table: str, api_version: str, params: Mapping[str, str], page_size: int
) -> Iterator[list[dict[str, Any]]]:
    """Yield pages of records until ``total_entries`` are read (offset pagination)."""
    path, items_key = _ENDPOINTS[table]
    offset = 0
    while True:
        page = fetch(path, {**params, "limit": page_size, "offset": offset})
        if not isinstance(page, dict) or not isinstance(page.get(items_key), list):
            raise RestExportError(f"GET {path} did not answer a JSON object with {items_key!r}")
        items: list[dict[str, Any]] = page[items_key]
        if items:
            yield items
        offset += len(items)
        total = page.get("total_entries")
        if not items or (isinstance(total, int) and offset >= total):
            return


def _selected(
    fetch: PageFetcher,
    table: str,
    api_version: str,
    page_size: int,
    newer_than: datetime | None,
    older_than: datetime | None,
    selections: Mapping[str, RestSelection] | None,
) -> Iterator[list[Item]]:
    selection = (selections or {}).get(table)
    if selection is None:
        window = window_params(table, api_version, newer_than, older_than)
        yield from iter_items(fetch, table, api_version, window, page_size)
        return
    for scan in selection.scans:
        for items in iter_items(fetch, table, api_version, scan, page_size):
            kept = [item for item in items if selection.accept(item)]
            if kept:
                yield kept


def export_via_rest(
    fetch: PageFetcher,
    s3_client: Any,
    settings: ExportSettings,
    *,
    api_version: str,
    tables: Sequence[str] | None = None,
    newer_than: datetime | None = None,
    older_than: datetime | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    selections: Mapping[str, RestSelection] | None = None,
) -> ExportResult:
    """Page through the REST API and write one object per table plus the manifest.

    :param selections: per table, the scans and filter that replace the time window (the
        cleanup selects rows by ``db clean``'s own rules this way).

    :param fetch: ``fetch(path, params)`` returns the JSON body of ``GET path`` (path without
        the ``/api/vN`` prefix, as MWAA's InvokeRestApi takes it).
    :param api_version: ``v2`` (Airflow 3) or ``v1`` (Airflow 2).
    """
    settings.validated()
    check_window(newer_than, older_than)
    if api_version not in API_VERSIONS:
        raise UsageError(f"api_version must be one of {API_VERSIONS}, got {api_version!r}")
    names = list(tables) if tables is not None else list(REST_TABLES)
    unknown = [n for n in names if n not in REST_TABLES]
    if unknown or not names:
        raise UsageError(f"the REST export supports the tables {list(REST_TABLES)}, not {unknown or names}")
    if page_size < 1:
        raise UsageError(f"page_size must be >= 1, got {page_size}")
    now = utc_now()
    manifest = settings.new_manifest(
        now, newer_than=newer_than, older_than=older_than, source=f"rest_api_{api_version}"
    )

    def writer_for(table: str) -> Callable[[MultipartUploadWriter], int]:
        columns = REST_COLUMNS[api_version][table]

        def write(writer: MultipartUploadWriter) -> int:
            rows = 0
            if settings.fmt == "csv":
                writer.write(formats.csv_line(list(columns)))
            for items in _selected(fetch, table, api_version, page_size, newer_than, older_than, selections):
                rows += len(items)
                writer.write("".join(rest_line(settings.fmt, columns, item) for item in items))
            return rows

        return write

    return upload_tables(s3_client, settings, manifest, now, ((table, writer_for(table)) for table in names))
