"""The cleanup example DAG, run with ``airflow dags test`` against seeded SQLite and PostgreSQL.

Airflow 2: the operator reads and deletes in the metadata DB. Airflow 3: it archives through
the REST API (InvokeRestApi on the MWAA stand-in) and runs ``db clean`` through the stand-in's
CLI endpoint in the environment's own Airflow home.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine

from airflow_mwaa_extras.metadata.manifest import read_manifest
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.local_aws import LocalAws
from airflow_mwaa_extras.testing.metadata_seed import seed_history
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS
from tests.conftest import EXAMPLE_DAGS, PG_DSN
from tests.metadata.snapshot import Snapshot

pytestmark = pytest.mark.slow
DAG_ID = "example_mwaa_extras_metadata_cleanup"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _home(make_airflow_home: Callable[..., AirflowHome], backend: str, name: str) -> AirflowHome:
    if backend == "postgres" and not PG_DSN:
        pytest.skip("set MWAA_EXTRAS_TEST_PG_DSN to run PostgreSQL tests")
    return make_airflow_home(name, dags_folder=EXAMPLE_DAGS, pg_dsn=PG_DSN if backend == "postgres" else None)


def _archive(s3: Any) -> tuple[Any, dict[str, list[dict[str, str]]]]:
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket="archive", Prefix="airflow-metadata/_manifests/")["Contents"]
    ]
    assert len(keys) == 1
    manifest = read_manifest(s3, "archive", keys[0])
    files = {
        o.table: list(
            csv.DictReader(io.StringIO(s3.get_object(Bucket="archive", Key=o.key)["Body"].read().decode()))
        )
        for o in manifest.objects
    }
    return manifest, files


@pytest.mark.skipif(AIRFLOW_V_3_0_PLUS, reason="Airflow 3 tasks may not use the ORM; see the next test")
@pytest.mark.parametrize("backend", BACKENDS)
def test_cleanup_dag_on_airflow_2(
    make_airflow_home: Callable[..., AirflowHome], aws: LocalAws, backend: str
) -> None:
    home = _home(make_airflow_home, backend, "cleanup")
    engine = create_engine(home.sql_alchemy_conn)
    seed_history(engine, dags=4, runs_per_dag=150, tasks_per_run=3)
    before = Snapshot(engine)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="archive")

    home.airflow(
        "dags", "test", DAG_ID, timeout=600, extra_env={**aws.env, "MWAA_EXTRAS_METADATA_BUCKET": "archive"}
    )

    manifest, files = _archive(s3)
    assert manifest.older_than is not None
    cutoff = datetime.fromisoformat(manifest.older_than.replace("Z", "+00:00"))
    assert abs(cutoff - (datetime.now(cutoff.tzinfo) - timedelta(days=90))) < timedelta(minutes=10)
    gone = before.deletable_runs(cutoff, 3)
    assert len(gone) > 250
    after = Snapshot(engine)
    seeded_after = {r for r in after.runs if r[0].startswith("seed_dag_")}
    assert seeded_after == set(before.runs) - gone
    assert {ti for ti in after.tis if ti[0].startswith("seed_dag_")} == {
        ti for ti in before.tis if ti[:2] not in gone
    }
    assert {(r["dag_id"], r["run_id"]) for r in files["dag_run"]} == gone
    assert {(r["dag_id"], r["run_id"], r["task_id"]) for r in files["task_instance"]} == {
        ti for ti in before.tis if ti[:2] in gone
    }
    assert set(before.logs) - set(after.logs) == {r["id"] for r in files["log"]} == before.old_logs(cutoff)
    assert set(before.dags) <= set(after.dags)  # the example DAG itself is added by dags test
    assert set(before.tags) <= set(after.tags)
    engine.dispose()
