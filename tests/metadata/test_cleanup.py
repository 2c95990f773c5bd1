"""Archive-before-delete cleanup on seeded SQLite and PostgreSQL databases, S3 on moto."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.metadata.cleanup import CleanupPolicy, run_cleanup
from airflow_mwaa_extras.metadata.export import ExportSettings
from airflow_mwaa_extras.metadata.manifest import ManifestVerificationError, read_manifest
from airflow_mwaa_extras.metadata.s3_upload import S3UploadError
from airflow_mwaa_extras.testing.local_aws import LocalAws
from tests.metadata.conftest import DAGS, NOW, TASKS_PER_RUN, SeededDb, rows, s3_body
from tests.metadata.snapshot import Snapshot

RETENTION = 60
KEEP = 3
CUTOFF = NOW - timedelta(days=RETENTION)


def parse_csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode(), newline="")))


def archived(s3: Any, manifest_key: str) -> dict[str, list[dict[str, str]]]:
    manifest = read_manifest(s3, "archive", manifest_key)
    return {o.table: parse_csv(s3_body(s3, "archive", o.key)) for o in manifest.objects}


def archive_settings(**kwargs: Any) -> ExportSettings:
    return ExportSettings(bucket="archive", **kwargs)


def test_dry_run_counts_and_changes_nothing(seeded: SeededDb, tmp_path: Path) -> None:
    engine = seeded.engine(seeded.copy(tmp_path))
    before = Snapshot(engine)
    report = run_cleanup(
        engine, CleanupPolicy(retention_days=RETENTION, keep_last_runs=KEEP), dry_run=True, now=NOW
    )
    runs = before.deletable_runs(CUTOFF, KEEP)
    assert len(runs) > 1000
    assert report.counts["dag_run"] == len(runs)
    assert report.counts["task_instance"] == TASKS_PER_RUN * len(runs)
    assert report.counts["log"] == len(before.old_logs(CUTOFF))
    if "task_fail" in report.counts:
        assert report.counts["task_fail"] == sum(1 for r in runs if before.runs[r][1] == "failed")
    assert report.deleted == {}
    assert report.manifest_key is None
    after = Snapshot(engine)
    assert (after.runs, after.tis, after.logs) == (before.runs, before.tis, before.logs)


def test_cleanup_archives_exactly_what_it_deletes(seeded: SeededDb, aws: LocalAws, tmp_path: Path) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="archive")
    engine = seeded.engine(seeded.copy(tmp_path))
    before = Snapshot(engine)
    gone_runs = before.deletable_runs(CUTOFF, KEEP)
    gone_logs = before.old_logs(CUTOFF)

    policy = CleanupPolicy(retention_days=RETENTION, keep_last_runs=KEEP, batch_size=250)
    report = run_cleanup(engine, policy, s3_client=s3, archive=archive_settings(run_id="weekly"), now=NOW)

    after = Snapshot(engine)
    assert set(after.runs) == set(before.runs) - gone_runs
    assert set(after.tis) == {ti for ti in before.tis if ti[:2] not in gone_runs}
    assert set(after.logs) == set(before.logs) - gone_logs
    # What must never go: running and queued runs (even one stuck for months), DAG definitions.
    stuck = min((r for r in before.runs if r[0] == "seed_dag_02"), key=lambda r: before.runs[r][2])
    assert before.runs[stuck][1] == "running"
    assert stuck in after.runs
    assert {v[1] for v in after.runs.values()} >= {"running", "queued"}
    assert after.dags == before.dags
    assert len(after.dags) == DAGS
    assert after.tags == before.tags
    for dag in {d for d, _ in before.runs}:
        assert sum(1 for d, _ in after.runs if d == dag) >= KEEP

    assert report.deleted == report.counts
    assert report.batches >= len(gone_runs) // 250
    assert 0 < report.longest_batch_seconds
    files = archived(s3, report.manifest_key or "")
    assert {(r["dag_id"], r["run_id"]) for r in files["dag_run"]} == gone_runs
    assert len(files["dag_run"]) == len(gone_runs)
    assert {(r["dag_id"], r["run_id"], r["task_id"]) for r in files["task_instance"]} == set(
        before.tis
    ) - set(after.tis)
    assert {r["id"] for r in files["log"]} == gone_logs

    again = run_cleanup(engine, policy, s3_client=s3, archive=archive_settings(), now=NOW)
    assert set(again.counts.values()) == {0}
    assert again.manifest_key is None


def test_failed_export_deletes_nothing(seeded: SeededDb, aws: LocalAws, tmp_path: Path) -> None:
    engine = seeded.engine(seeded.copy(tmp_path))
    before = Snapshot(engine)
    with pytest.raises(S3UploadError, match="NoSuchBucket"):
        run_cleanup(
            engine,
            CleanupPolicy(retention_days=RETENTION),
            s3_client=aws.client("s3"),
            archive=archive_settings(),
            now=NOW,
        )
    assert set(Snapshot(engine).runs) == set(before.runs)


def test_archive_that_does_not_verify_deletes_nothing(
    seeded: SeededDb, aws: LocalAws, tmp_path: Path
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="archive")

    def truncated(parsed: dict[str, Any], **_: Any) -> None:  # S3 reports a shorter object than written
        parsed["ContentLength"] = 1

    s3.meta.events.register("after-call.s3.HeadObject", truncated)
    engine = seeded.engine(seeded.copy(tmp_path))
    before = Snapshot(engine)
    with pytest.raises(ManifestVerificationError, match="has 1 bytes, the manifest says"):
        run_cleanup(
            engine, CleanupPolicy(retention_days=RETENTION), s3_client=s3, archive=archive_settings(), now=NOW
        )
    after = Snapshot(engine)
    assert (set(after.runs), set(after.tis), set(after.logs)) == (
        set(before.runs),
        set(before.tis),
        set(before.logs),
    )


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (CleanupPolicy(retention_days=0), "retention_days must be"),
        (CleanupPolicy(retention_days=30, keep_last_runs=-1), "keep_last_runs must be"),
        (CleanupPolicy(retention_days=30, batch_size=0), "batch_size must be"),
    ],
    ids=["retention", "keep", "batch"],
)
def test_bad_policy_is_a_usage_error(seeded: SeededDb, policy: CleanupPolicy, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        run_cleanup(seeded.engine(), policy, dry_run=True)


_KILL_SCRIPT = """
import sys
from datetime import datetime
from sqlalchemy import create_engine
from airflow_mwaa_extras.metadata.cleanup import CleanupPolicy, run_cleanup
from airflow_mwaa_extras.metadata.export import ExportSettings
from airflow_mwaa_extras.testing.local_aws import LocalAws
import boto3
s3 = boto3.client("s3")
run_cleanup(create_engine(sys.argv[1]), CleanupPolicy(retention_days=int(sys.argv[2]), keep_last_runs=int(sys.argv[3]),
            batch_size=1), s3_client=s3, archive=ExportSettings(bucket="archive", run_id="killed"),
            now=datetime.fromisoformat(sys.argv[4]))
"""


@pytest.mark.postgres
@pytest.mark.slow
def test_sigkill_mid_cleanup_leaves_whole_runs_and_a_rerun_finishes(
    seeded: SeededDb, aws: LocalAws, tmp_path: Path
) -> None:
    if seeded.backend != "postgres":
        pytest.skip("the interruption test runs against PostgreSQL")
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="archive")
    url = seeded.copy(tmp_path)
    engine = seeded.engine(url)
    before = Snapshot(engine)
    gone_runs = before.deletable_runs(CUTOFF, KEEP)
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILL_SCRIPT, url, str(RETENTION), str(KEEP), NOW.isoformat()],
        env={**os.environ, **aws.env},
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            (count,) = rows(engine, "SELECT count(*) FROM dag_run")[0]
            if count <= len(before.runs) - 50:  # some batches committed, many to go
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    mid = Snapshot(engine)
    deleted_so_far = set(before.runs) - set(mid.runs)
    assert 0 < len(deleted_so_far) < len(gone_runs)
    assert deleted_so_far <= gone_runs
    # Consistent: no orphan task instances, every remaining run has all its task instances.
    assert {ti[:2] for ti in mid.tis} == set(mid.runs)
    assert all(sum(1 for ti in mid.tis if ti[:2] == run) == TASKS_PER_RUN for run in list(mid.runs)[:200])
    # The killed run's archive was complete before its first delete.
    killed = s3.list_objects_v2(Bucket="archive", Prefix="airflow-metadata/_manifests/")["Contents"]
    assert len(killed) == 1

    report = run_cleanup(
        engine,
        CleanupPolicy(retention_days=RETENTION, keep_last_runs=KEEP),
        s3_client=s3,
        archive=archive_settings(run_id="rerun"),
        now=NOW,
    )
    after = Snapshot(engine)
    assert set(after.runs) == set(before.runs) - gone_runs
    assert set(after.tis) == {ti for ti in before.tis if ti[:2] not in gone_runs}
    rerun_rows = archived(s3, report.manifest_key or "")["dag_run"]
    assert {(r["dag_id"], r["run_id"]) for r in rerun_rows} == gone_runs - deleted_so_far
