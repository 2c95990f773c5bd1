"""A real retry of the cleanup task: a real scheduler (LocalExecutor) on PostgreSQL, ``retries=1``,
try 1 SIGKILLed while it deletes; and ``airflow dags test`` run twice for one logical date.

What must hold (issue 13): every row gone from the database is in an archive object that a
manifest lists, with matching rows and sha256, and the final database equals that of an
uninterrupted cleanup of the same seed. Before the fix try 2 wrote over try 1's archive and
the runs try 1 had deleted were in no archive.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from airflow_mwaa_extras.metadata.cleanup import CleanupPolicy, run_cleanup
from airflow_mwaa_extras.testing.airflow_home import AirflowHome, pg_copy_database, pg_drop_database
from airflow_mwaa_extras.testing.local_aws import LocalAws
from airflow_mwaa_extras.testing.local_scheduler import start_local_scheduler
from airflow_mwaa_extras.testing.metadata_seed import seed_history
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS
from tests.conftest import PG_DSN
from tests.metadata.archive_check import assert_archived, manifests_of
from tests.metadata.conftest import rows
from tests.metadata.snapshot import Snapshot

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(
        AIRFLOW_V_3_0_PLUS, reason="Airflow 2's database path; Airflow 3 runs db clean remotely"
    ),
]
DAG_ID = "mwaa_extras_cleanup_retry"
RETENTION = 90
KEEP = 3
DAG_FILE = f'''
from datetime import datetime, timedelta
from airflow_mwaa_extras.operators.metadata_cleanup import MetadataCleanupOperator
from airflow_mwaa_extras.version_compat import DAG

with DAG(
    dag_id="{DAG_ID}",
    schedule="@once",
    start_date=datetime(2020, 1, 1),
    catchup=False,
    is_paused_upon_creation=False,
    default_args={{"retries": 1, "retry_delay": timedelta(seconds=1)}},
):
    MetadataCleanupOperator(
        task_id="clean", retention_days={RETENTION}, keep_last_runs={KEEP}, bucket="archive", batch_size=5
    )
'''


def _home(make_airflow_home: Callable[..., AirflowHome], tmp_path: Path, aws: LocalAws) -> AirflowHome:
    if not PG_DSN:
        pytest.skip("set MWAA_EXTRAS_TEST_PG_DSN to run PostgreSQL tests")
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "cleanup_retry.py").write_text(DAG_FILE)
    home = make_airflow_home("retry", dags_folder=dags, pg_dsn=PG_DSN)
    home.env.update(aws.env)
    aws.client("s3").create_bucket(Bucket="archive")
    return home


def _seed(home: AirflowHome) -> tuple[Snapshot, str]:
    """Seed thousands of runs, then copy the database for the reference cleanup."""
    assert PG_DSN
    assert home.pg_database
    engine = create_engine(home.sql_alchemy_conn)
    seed_history(engine, dags=8, runs_per_dag=250, tasks_per_run=3, now=datetime.now(UTC))
    before = Snapshot(engine)
    engine.dispose()
    name = f"mwaa_extras_ref_{uuid.uuid4().hex[:10]}"
    pg_copy_database(PG_DSN, home.pg_database, name)
    return before, name


def _seeded_only(snap: Snapshot, seed: Snapshot) -> tuple[set[Any], set[Any], set[Any]]:
    return (
        {r for r in snap.runs if r[0].startswith("seed_dag_")},
        {t for t in snap.tis if t[0].startswith("seed_dag_")},
        set(snap.logs) & set(seed.logs),
    )


def _check(home: AirflowHome, aws: LocalAws, before: Snapshot, reference_db: str) -> list[Any]:
    """The invariants; returns the manifests (one per try that got as far as writing one)."""
    assert PG_DSN
    s3 = aws.client("s3")
    manifests = manifests_of(s3, "archive", f"airflow-metadata/_manifests/{DAG_ID}/")
    engine = create_engine(home.sql_alchemy_conn)
    after = Snapshot(engine)
    engine.dispose()
    assert_archived(s3, "archive", before, after, manifests)
    # An uninterrupted cleanup of the same seed, with the last try's cutoff.
    cutoff = max(datetime.fromisoformat((m.older_than or "").replace("Z", "+00:00")) for m in manifests)
    ref_engine = create_engine(home.sql_alchemy_conn.rsplit("/", 1)[0] + f"/{reference_db}")
    try:
        policy = CleanupPolicy(retention_days=RETENTION, keep_last_runs=KEEP)
        run_cleanup(ref_engine, policy, now=cutoff + timedelta(days=RETENTION))
        reference = Snapshot(ref_engine)
    finally:
        ref_engine.dispose()
        pg_drop_database(PG_DSN, reference_db)
    assert _seeded_only(after, before) == _seeded_only(reference, before)
    assert len(before.runs) - len(_seeded_only(after, before)[0]) >= 900
    return manifests


def _deleting(engine: Any, before: Snapshot) -> bool:
    """Some runs are gone, most are still there: the cleanup is mid-delete."""
    (left,) = rows(engine, "SELECT count(*) FROM dag_run WHERE dag_id LIKE 'seed_dag_%'")[0]
    return bool(len(before.runs) - 1500 < left <= len(before.runs) - 20)


def _wait(what: str, predicate: Callable[[], Any], timeout: float, logs: Callable[[], str]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}\n{logs()[-3000:]}")


def test_scheduler_retries_a_cleanup_killed_mid_delete(
    make_airflow_home: Callable[..., AirflowHome], aws: LocalAws, tmp_path: Path
) -> None:
    home = _home(make_airflow_home, tmp_path, aws)
    before, reference_db = _seed(home)
    engine = create_engine(home.sql_alchemy_conn)
    ti_sql = "SELECT state, try_number, pid FROM task_instance WHERE dag_id = :d AND task_id = 'clean'"

    def try_1_deleting() -> int | None:
        ti = rows(engine, ti_sql, d=DAG_ID)
        if ti and ti[0][0] == "running" and ti[0][1] == 1 and ti[0][2] and _deleting(engine, before):
            return int(ti[0][2])
        return None

    scheduler = start_local_scheduler(home)
    try:
        pid = _wait("try 1 to delete", try_1_deleting, 300, scheduler.logs)
        os.kill(pid, signal.SIGKILL)  # the task process that runs the cleanup: worker lost
        _wait("try 2", lambda: rows(engine, ti_sql, d=DAG_ID)[0][:2] == ("success", 2), 300, scheduler.logs)
    finally:
        scheduler.stop()
    xcom = rows(
        engine,
        "SELECT value FROM xcom WHERE dag_id = :d AND task_id = 'clean' AND key = 'earlier_manifests'",
        d=DAG_ID,
    )
    engine.dispose()

    manifests = _check(home, aws, before, reference_db)
    assert sorted(m.try_number for m in manifests) == [1, 2]
    try_1 = next(m for m in manifests if m.try_number == 1)
    assert len(xcom) == 1
    assert [k.rsplit("/", 1)[1] for k in json.loads(bytes(xcom[0][0]))] == [f"{try_1.attempt}.json"]


def test_dags_test_twice_for_one_logical_date(
    make_airflow_home: Callable[..., AirflowHome], aws: LocalAws, tmp_path: Path
) -> None:
    home = _home(make_airflow_home, tmp_path, aws)
    before, reference_db = _seed(home)
    engine = create_engine(home.sql_alchemy_conn)
    log = tmp_path / "dags-test-1.log"
    with open(log, "wb") as out:
        first = subprocess.Popen(
            [sys.executable, "-m", "airflow", "dags", "test", DAG_ID, "2026-01-01"],
            env=home.full_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait("the first dags test to delete", lambda: _deleting(engine, before), 300, log.read_text)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    engine.dispose()
    home.airflow("dags", "test", DAG_ID, "2026-01-01", timeout=600)

    manifests = _check(home, aws, before, reference_db)
    # The second dags test recreates the DAG run: both are try 1, told apart by the token.
    assert [m.try_number for m in manifests] == [1, 1]
    assert len({m.attempt for m in manifests}) == 2
