"""Archive objects are never overwritten: every attempt writes its own keys (issue 13, item 1).

Before the fix the keys were named after the DAG run id only, so try 2 of a cleanup replaced
try 1's CSVs and manifest with the rows that were left, and the rows try 1 deleted were in no
archive.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.metadata.cleanup import CleanupPolicy, run_cleanup
from airflow_mwaa_extras.metadata.export import ExportSettings, export_metadata
from airflow_mwaa_extras.metadata.manifest import read_manifest
from airflow_mwaa_extras.metadata.s3_upload import MultipartUploadWriter, S3UploadError
from airflow_mwaa_extras.testing.local_aws import LocalAws
from tests.metadata.archive_check import assert_archived, manifests_of
from tests.metadata.conftest import NOW, SeededDb, s3_body
from tests.metadata.snapshot import Snapshot

RUN_ID = "scheduled__2026-06-30T00:00:00+00:00"
MiB = 1024 * 1024


def task_settings(try_number: int, **kwargs: Any) -> ExportSettings:
    """What the operators build for one try of one task in one DAG run."""
    fields: dict[str, Any] = {"bucket": "archive", "dag_id": "cleanup", "task_id": "clean", **kwargs}
    return ExportSettings(run_id=RUN_ID, try_number=try_number, **fields)


@pytest.fixture
def s3(aws: LocalAws) -> Iterator[Any]:
    client = aws.client("s3")
    client.create_bucket(Bucket="archive")
    yield client
    aws.reset()


def test_two_tries_of_one_task_keep_both_archives(seeded: SeededDb, s3: Any) -> None:
    older = NOW - timedelta(days=30)
    first = export_metadata(seeded.engine(), s3, task_settings(1), tables=["dag_run"], older_than=older)
    bodies = {o.key: s3_body(s3, "archive", o.key) for o in first.manifest.objects}
    second = export_metadata(seeded.engine(), s3, task_settings(2), tables=["dag_run"], older_than=older)

    assert first.manifest_key != second.manifest_key
    assert {o.key for o in first.manifest.objects}.isdisjoint(o.key for o in second.manifest.objects)
    assert read_manifest(s3, "archive", first.manifest_key) == first.manifest
    for obj in first.manifest.objects:
        assert hashlib.sha256(s3_body(s3, "archive", obj.key)).hexdigest() == obj.sha256
        assert s3_body(s3, "archive", obj.key) == bodies[obj.key]
    assert "/try1-" in first.manifest_key
    assert "/try2-" in second.manifest_key
    # A re-run finds the manifests the earlier tries left (and not its own).
    assert task_settings(3).earlier_manifests(s3) == [first.manifest_key, second.manifest_key]
    assert task_settings(3, dag_id="other").earlier_manifests(s3) == []


@pytest.mark.parametrize(
    ("template", "what"),
    [
        ("archive/{table}/{run_id}.{ext}", "{attempt}"),
        ("archive/{run_id}/{attempt}.{ext}", "{table}"),
    ],
    ids=["no-attempt", "no-table"],
)
def test_a_key_template_that_would_collide_is_refused(template: str, what: str) -> None:
    with pytest.raises(UsageError, match=f"key_template .* has no {what}"):
        ExportSettings(bucket="archive", key_template=template).validated()
    with pytest.raises(UsageError, match="manifest_key_template .* has no {attempt}"):
        ExportSettings(bucket="archive", manifest_key_template="m/{run_id}.json").validated()


@pytest.mark.parametrize("size", [10, 6 * MiB], ids=["single-put", "multipart"])
def test_an_existing_object_is_never_replaced(s3: Any, size: int) -> None:
    s3.put_object(Bucket="archive", Key="taken.csv", Body=b"try 1's rows")
    writer = MultipartUploadWriter(s3, "archive", "taken.csv", part_size=5 * MiB)
    with pytest.raises(S3UploadError, match=r"s3://archive/taken.csv exists already"):
        with writer:
            writer.write(b"z" * size)
    assert s3_body(s3, "archive", "taken.csv") == b"try 1's rows"
    assert s3.list_multipart_uploads(Bucket="archive").get("Uploads", []) == []


class _Crash(Exception):
    """Stands for the worker dying between two delete transactions."""


def _crash_after_commits(engine: Engine, commits: int) -> None:
    seen = {"n": 0}

    def on_commit(conn: Any) -> None:
        seen["n"] += 1
        if seen["n"] > commits:
            raise _Crash

    event.listen(engine, "commit", on_commit)


def test_a_retried_cleanup_loses_no_archived_row(seeded: SeededDb, s3: Any, tmp_path: Path) -> None:
    url = seeded.copy(tmp_path)
    engine = seeded.engine(url)
    before = Snapshot(engine)
    policy = CleanupPolicy(retention_days=60, keep_last_runs=3, batch_size=50)
    crashing = seeded.engine(url)
    _crash_after_commits(crashing, 5)  # the archive's read-only transaction, then 4 delete batches
    with pytest.raises(_Crash):
        run_cleanup(crashing, policy, s3_client=s3, archive=task_settings(1), now=NOW)
    crashing.dispose()
    mid = Snapshot(engine)
    assert 0 < len(set(before.runs) - set(mid.runs)) < 1000

    run_cleanup(engine, policy, s3_client=s3, archive=task_settings(2), now=NOW)

    manifests = manifests_of(s3, "archive")
    assert len(manifests) == 2
    assert_archived(s3, "archive", before, Snapshot(engine), manifests)


@pytest.mark.parametrize("where", ["no-bucket", "unreachable"])
def test_s3_errors_are_one_line_without_a_chained_traceback(
    seeded: SeededDb, aws: LocalAws, where: str
) -> None:
    import boto3
    from botocore.config import Config

    s3 = aws.client("s3")
    if where == "unreachable":  # a closed loopback port, no retries
        s3 = boto3.client(
            "s3",
            endpoint_url="http://127.0.0.1:9",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}, connect_timeout=2),
        )
    with pytest.raises(S3UploadError) as caught:
        export_metadata(seeded.engine(), s3, task_settings(1, bucket="missing-bucket"), tables=["dag_run"])
    assert len(str(caught.value).splitlines()) == 1
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
