"""The invariant every retried or killed export and cleanup must keep, checked against S3.

Every row that is gone from the database is in an archive object that a manifest lists, and
every object a manifest lists holds exactly the rows, bytes and sha256 the manifest says.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from typing import Any

from airflow_mwaa_extras.metadata.manifest import Manifest, read_manifest
from tests.metadata.snapshot import Snapshot

MANIFESTS = "airflow-metadata/_manifests/"


def manifests_of(s3: Any, bucket: str, prefix: str = MANIFESTS) -> list[Manifest]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    return [read_manifest(s3, bucket, key) for key in keys]


def archived_rows(s3: Any, bucket: str, manifests: list[Manifest]) -> dict[str, list[dict[str, Any]]]:
    """Rows per table over all manifests, after checking each object against its manifest."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for manifest in manifests:
        for obj in manifest.objects:
            body = s3.get_object(Bucket=bucket, Key=obj.key)["Body"].read()
            assert len(body) == obj.bytes, obj.key
            assert hashlib.sha256(body).hexdigest() == obj.sha256, obj.key
            text = (gzip.decompress(body) if manifest.compression == "gzip" else body).decode()
            if manifest.format == "csv":
                rows: list[dict[str, Any]] = list(csv.DictReader(io.StringIO(text, newline="")))
            else:
                rows = [json.loads(line) for line in text.splitlines()]
            assert len(rows) == obj.rows, obj.key
            tables.setdefault(obj.table, []).extend(rows)
    return tables


def assert_archived(
    s3: Any, bucket: str, before: Snapshot, after: Snapshot, manifests: list[Manifest]
) -> dict[str, list[dict[str, Any]]]:
    """Every run, task instance and log row gone between the snapshots is archived."""
    tables = archived_rows(s3, bucket, manifests)
    gone_runs = set(before.runs) - set(after.runs)
    gone_tis = set(before.tis) - set(after.tis)
    gone_logs = set(before.logs) - set(after.logs)
    assert gone_runs, "nothing was deleted: the check proves nothing"
    runs = {(r["dag_id"], r.get("run_id") or r["dag_run_id"]) for r in tables.get("dag_run", [])}
    tis = {
        (r["dag_id"], r.get("run_id") or r["dag_run_id"], r["task_id"])
        for r in tables.get("task_instance", [])
    }
    logs = {str(r.get("id") or r.get("event_log_id")) for r in tables.get("log", [])}
    assert not gone_runs - runs, f"{len(gone_runs - runs)} deleted runs are in no archive"
    assert not gone_tis - tis, f"{len(gone_tis - tis)} deleted task instances are in no archive"
    assert not gone_logs - logs, f"{len(gone_logs - logs)} deleted log rows are in no archive"
    return tables
