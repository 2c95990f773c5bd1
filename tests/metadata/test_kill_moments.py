"""SIGKILL an export or a cleanup at five moments, run it again as the next try: nothing lost.

The killed process is real (``python -c``), and it kills itself with SIGKILL at a precise
moment through the real boundaries it crosses: a botocore event before or after an S3 call, a
SQLAlchemy event before a DELETE. After the next try (same DAG run, same task) every row gone
from the database is in an object that a manifest lists (rows, bytes and sha256 checked), and
the database equals what an uninterrupted cleanup leaves. Cleanup runs on PostgreSQL (MWAA's
database), the export on SQLite (where it dies does not depend on the database).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from airflow_mwaa_extras.metadata.cleanup import CleanupPolicy, run_cleanup
from airflow_mwaa_extras.metadata.export import ExportSettings, export_metadata
from airflow_mwaa_extras.testing.local_aws import LocalAws
from tests.metadata.archive_check import archived_rows, assert_archived, manifests_of
from tests.metadata.conftest import NOW, SeededDb
from tests.metadata.snapshot import Snapshot

RETENTION = 60
KEEP = 3
CUTOFF = NOW - timedelta(days=RETENTION)
RUN_ID = "scheduled__2026-06-30T00:00:00+00:00"

_SCRIPT = """
import os, signal, sys
from datetime import datetime
import boto3
from sqlalchemy import create_engine, event
from airflow_mwaa_extras.metadata.cleanup import CleanupPolicy, run_cleanup
from airflow_mwaa_extras.metadata.export import ExportSettings, export_metadata

url, job, moment, now = sys.argv[1], sys.argv[2], sys.argv[3], datetime.fromisoformat(sys.argv[4])
s3 = boto3.client("s3")
engine = create_engine(url)
seen = {}

def die(*_, **__):
    os.kill(os.getpid(), signal.SIGKILL)

def nth(name, n):
    seen[name] = seen.get(name, 0) + 1
    if seen[name] >= n:
        die()

def on_put(params, **_):
    if "_manifests" in params["Key"]:
        die()

if moment == "first-object-stored":
    s3.meta.events.register("after-call.s3.PutObject", die)
elif moment == "second-object-started":
    s3.meta.events.register("provide-client-params.s3.HeadObject", lambda **_: nth("head", 2))
elif moment == "before-manifest":
    s3.meta.events.register("provide-client-params.s3.PutObject", on_put)
elif moment == "verifying":
    s3.meta.events.register("provide-client-params.s3.GetObject", die)
else:
    table, count = moment.split(":")
    def before_execute(conn, cursor, statement, *_):
        if statement.lstrip().upper().startswith(f"DELETE FROM {table.upper()} "):
            nth(table, int(count))
    event.listen(engine, "before_cursor_execute", before_execute)

settings = ExportSettings(bucket="archive", run_id=sys.argv[5], dag_id="nightly", task_id="clean", try_number=1)
if job == "cleanup":
    run_cleanup(engine, CleanupPolicy(retention_days=60, keep_last_runs=3, batch_size=20),
                s3_client=s3, archive=settings, now=now)
else:
    export_metadata(engine, s3, settings, older_than=now)
print("not killed")
"""


def _killed_try(url: str, aws: LocalAws, job: str, moment: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, url, job, moment, NOW.isoformat(), RUN_ID],
        env={**os.environ, **aws.env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == -9, proc.stdout + proc.stderr[-2000:]


def _next_try() -> ExportSettings:
    return ExportSettings(bucket="archive", run_id=RUN_ID, dag_id="nightly", task_id="clean", try_number=2)


@pytest.fixture
def s3(aws: LocalAws) -> Any:
    client = aws.client("s3")
    client.create_bucket(Bucket="archive")
    return client


@pytest.mark.parametrize("seeded", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
@pytest.mark.parametrize(
    "moment",
    [
        "first-object-stored",
        "before-manifest",
        "verifying",
        "dag_run:15",  # mid-delete: 14 batches of runs committed, the 15th in flight
        "log:3",  # after every run, while deleting the audit log
    ],
)
def test_cleanup_killed_then_retried_loses_nothing(
    seeded: SeededDb, aws: LocalAws, s3: Any, tmp_path: Path, moment: str
) -> None:
    url = seeded.copy(tmp_path)
    engine = seeded.engine(url)
    before = Snapshot(engine)
    _killed_try(url, aws, "cleanup", moment)
    mid = Snapshot(engine)
    if moment.startswith(("dag_run", "log")):
        assert set(mid.runs) < set(before.runs)
    else:
        assert mid.runs == before.runs
    # Whole runs or nothing: no task instance without its run.
    assert {ti[:2] for ti in mid.tis} <= set(mid.runs)

    run_cleanup(
        engine,
        CleanupPolicy(retention_days=RETENTION, keep_last_runs=KEEP),
        s3_client=s3,
        archive=_next_try(),
        now=NOW,
    )
    after = Snapshot(engine)
    manifests = manifests_of(s3, "archive")
    killed_manifest = moment in ("verifying", "dag_run:15", "log:3")
    assert [m.try_number for m in manifests] == sorted([1, 2] if killed_manifest else [2])
    assert_archived(s3, "archive", before, after, manifests)
    # The same database as one uninterrupted cleanup.
    gone = before.deletable_runs(CUTOFF, KEEP)
    assert set(after.runs) == set(before.runs) - gone
    assert set(after.tis) == {ti for ti in before.tis if ti[:2] not in gone}
    assert set(after.logs) == set(before.logs) - before.old_logs(CUTOFF)


# Where the export is killed does not depend on the database: SQLite keeps it quick.
@pytest.mark.parametrize("seeded", ["sqlite"], indirect=True)
@pytest.mark.parametrize("moment", ["first-object-stored", "second-object-started", "before-manifest"])
def test_export_killed_then_retried_leaves_complete_archives(
    seeded: SeededDb, aws: LocalAws, s3: Any, moment: str
) -> None:
    _killed_try(seeded.url, aws, "export", moment)
    assert manifests_of(s3, "archive") == []  # a manifest only after all its objects
    stored_before = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket="archive").get("Contents", [])}

    result = export_metadata(seeded.engine(), s3, _next_try(), older_than=NOW)
    manifests = manifests_of(s3, "archive")
    assert manifests == [result.manifest]
    tables = archived_rows(s3, "archive", manifests)
    assert len(tables["dag_run"]) == seeded.summary.dag_runs
    assert len(tables["task_instance"]) == seeded.summary.task_instances
    # What the killed try stored is still there, unchanged.
    stored_after = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket="archive")["Contents"]}
    assert {k: stored_after[k] for k in stored_before} == stored_before
