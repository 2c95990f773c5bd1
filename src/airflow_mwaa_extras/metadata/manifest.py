"""The manifest of an export: one JSON object naming every data object with rows, bytes, sha256.

Verifying a manifest checks S3, not our own bookkeeping: each object must exist with the
recorded size, and its row count must equal what the caller is about to delete.

Keys are unique per attempt (``{attempt}``: the try number and a random token), so a retried or
cleared task never replaces what an earlier try archived; the manifests of every try stay, under
one prefix per DAG run and task, where a re-run finds them.
"""

from __future__ import annotations

import json
import re
import string
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError

__all__ = [
    "DEFAULT_KEY_TEMPLATE",
    "DEFAULT_MANIFEST_TEMPLATE",
    "PLACEHOLDERS",
    "Manifest",
    "ManifestObject",
    "ManifestVerificationError",
    "check_key_template",
    "earlier_manifests",
    "new_attempt",
    "read_manifest",
    "render_key",
    "safe_key_part",
    "utc_now",
    "verify_manifest",
    "write_manifest",
]

DEFAULT_KEY_TEMPLATE = "airflow-metadata/{table}/{date}/{dag_id}/{run_id}/{task_id}/{attempt}.{ext}"
DEFAULT_MANIFEST_TEMPLATE = "airflow-metadata/_manifests/{dag_id}/{run_id}/{task_id}/{attempt}.json"
PLACEHOLDERS = ("table", "date", "run_id", "ext", "dag_id", "task_id", "attempt")
# Placeholders that differ between two tries of one task in one DAG run.
_PER_ATTEMPT = ("attempt", "date")
_SAFE = re.compile(r"[^A-Za-z0-9._=-]+")


class ManifestVerificationError(MwaaExtrasError):
    """The archive in S3 does not match what is about to be deleted."""


@dataclass(frozen=True)
class ManifestObject:
    table: str
    key: str
    rows: int
    bytes: int
    sha256: str


@dataclass
class Manifest:
    bucket: str
    run_id: str
    format: str
    compression: str | None
    created_at: str
    newer_than: str | None = None
    older_than: str | None = None
    source: str = "database"
    objects: list[ManifestObject] = field(default_factory=list)
    # Which task try wrote it (manifest_version 2); None in 0.1.0's manifests and CLI exports.
    dag_id: str | None = None
    task_id: str | None = None
    try_number: int | None = None
    attempt: str | None = None

    def to_json(self) -> str:
        return json.dumps({"manifest_version": 2, **asdict(self)}, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        data = json.loads(text)
        data.pop("manifest_version", None)
        objects = [ManifestObject(**o) for o in data.pop("objects", [])]
        return cls(**data, objects=objects)

    def rows_by_table(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for obj in self.objects:
            counts[obj.table] = counts.get(obj.table, 0) + obj.rows
        return counts


def safe_key_part(value: str) -> str:
    """A run id such as ``manual__2024-01-01T00:00:00+00:00`` made safe for an S3 key."""
    return _SAFE.sub("_", value).strip("_") or "run"


def new_attempt(try_number: int | None) -> str:
    """``try2-1a2b3c4d``: the try number for people, a random token for uniqueness (a cleared
    task starts again at the same try number on Airflow 2)."""
    token = uuid.uuid4().hex[:8]
    return f"try{try_number}-{token}" if try_number is not None else token


def check_key_template(template: str, what: str = "key_template") -> str:
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as err:
        raise UsageError(f"{what} {template!r} is not a valid template: {err}") from None
    unknown = sorted({f for f in fields if f not in PLACEHOLDERS})
    if unknown:
        raise UsageError(
            f"{what} {template!r} uses unknown placeholder(s) {unknown}; known: {list(PLACEHOLDERS)}"
        )
    if template.startswith("/") or not template.strip():
        raise UsageError(f"{what} {template!r} must be a relative key")
    required = ("attempt", "table") if what == "key_template" else ("attempt",)
    for name in required:
        if name not in fields:
            why = (
                "a retry would write over the archive of the try before"
                if name == "attempt"
                else "every table would write the same key"
            )
            raise UsageError(
                f"{what} {template!r} has no {{{name}}}: {why}; "
                f"add it (default {DEFAULT_KEY_TEMPLATE if what == 'key_template' else DEFAULT_MANIFEST_TEMPLATE!r})"
            )
    return template


def render_key(
    template: str,
    *,
    table: str,
    run_id: str,
    ext: str,
    when: datetime,
    dag_id: str = "",
    task_id: str = "",
    attempt: str = "",
) -> str:
    return template.format(
        table=table,
        date=when.strftime("%Y-%m-%d"),
        run_id=safe_key_part(run_id),
        ext=ext,
        dag_id=safe_key_part(dag_id),
        task_id=safe_key_part(task_id),
        attempt=safe_key_part(attempt),
    )


def earlier_manifests(
    s3_client: Any, bucket: str, template: str, *, run_id: str, dag_id: str, task_id: str, exclude: str = ""
) -> list[str]:
    """Keys of the manifests other tries of this task in this DAG run left, oldest first.

    Lists the template's fixed prefix and keeps the keys that match it with any attempt and
    date, so it works for user templates too.
    """
    fixed = {"run_id": run_id, "dag_id": dag_id, "task_id": task_id, "table": "manifest", "ext": "json"}
    parts = []
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is None:
            continue
        parts.append("[^/]+" if name in _PER_ATTEMPT else re.escape(safe_key_part(fixed[name])))
    pattern = re.compile("".join(parts) + r"\Z")
    prefix = ""
    for literal, name, _, _ in string.Formatter().parse(template):
        prefix += literal
        if name is None:
            continue
        if name in _PER_ATTEMPT:
            break
        prefix += safe_key_part(fixed[name])
    found = []
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"] != exclude and pattern.match(obj["Key"]):
                found.append((obj["LastModified"], obj["Key"]))
    return [key for _, key in sorted(found)]


def utc_now() -> datetime:
    return datetime.now(UTC)


def write_manifest(s3_client: Any, manifest: Manifest, key: str) -> None:
    from airflow_mwaa_extras.metadata.s3_upload import put_new_object

    put_new_object(s3_client, manifest.bucket, key, manifest.to_json().encode(), "application/json")


def read_manifest(s3_client: Any, bucket: str, key: str) -> Manifest:
    body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return Manifest.from_json(body)


def verify_manifest(
    s3_client: Any, manifest_key: str, manifest: Manifest, expected_rows: dict[str, int]
) -> None:
    """Check the manifest stored at ``manifest_key`` and every object it names.

    :param expected_rows: rows per table the caller will delete; each must equal the archive's.
    :raises ManifestVerificationError: on the first difference, naming it.
    """
    try:
        stored = read_manifest(s3_client, manifest.bucket, manifest_key)
    except Exception as err:
        raise ManifestVerificationError(
            f"manifest s3://{manifest.bucket}/{manifest_key} cannot be read: {err}"
        ) from err
    if stored.objects != manifest.objects:
        raise ManifestVerificationError(
            f"manifest s3://{manifest.bucket}/{manifest_key} differs from the export"
        )
    for obj in stored.objects:
        try:
            head = s3_client.head_object(Bucket=stored.bucket, Key=obj.key)
        except Exception as err:
            raise ManifestVerificationError(
                f"archived object s3://{stored.bucket}/{obj.key} is missing: {err}"
            ) from None
        if int(head["ContentLength"]) != obj.bytes:
            raise ManifestVerificationError(
                f"s3://{stored.bucket}/{obj.key} has {head['ContentLength']} bytes, the manifest says {obj.bytes}"
            )
    archived = stored.rows_by_table()
    for table, rows in expected_rows.items():
        if archived.get(table, 0) != rows:
            raise ManifestVerificationError(
                f"table {table}: {rows} rows to delete but {archived.get(table, 0)} archived"
            )
