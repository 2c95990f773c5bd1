"""The manifest of an export: one JSON object naming every data object with rows, bytes, sha256.

Verifying a manifest checks S3, not our own bookkeeping: each object must exist with the
recorded size, and its row count must equal what the caller is about to delete.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError

DEFAULT_KEY_TEMPLATE = "airflow-metadata/{table}/{date}/{run_id}.{ext}"
DEFAULT_MANIFEST_TEMPLATE = "airflow-metadata/_manifests/{date}/{run_id}.json"
PLACEHOLDERS = ("table", "date", "run_id", "ext")
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

    def to_json(self) -> str:
        return json.dumps({"manifest_version": 1, **asdict(self)}, indent=2, sort_keys=True)

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
    return template


def render_key(template: str, *, table: str, run_id: str, ext: str, when: datetime) -> str:
    return template.format(table=table, date=when.strftime("%Y-%m-%d"), run_id=safe_key_part(run_id), ext=ext)


def utc_now() -> datetime:
    return datetime.now(UTC)


def write_manifest(s3_client: Any, manifest: Manifest, key: str) -> None:
    s3_client.put_object(
        Bucket=manifest.bucket, Key=key, Body=manifest.to_json().encode(), ContentType="application/json"
    )


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
            ) from err
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
