"""The export example DAG, run with ``airflow dags test`` (SQLite and PostgreSQL on Airflow 2;
through the MWAA stand-in's InvokeRestApi on Airflow 3)."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import create_engine

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.metadata.manifest import read_manifest
from airflow_mwaa_extras.operators.metadata_cleanup import MetadataCleanupOperator
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.local_aws import LocalAws
from airflow_mwaa_extras.testing.metadata_seed import seed_history
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS
from tests.conftest import EXAMPLE_DAGS, PG_DSN
from tests.metadata.snapshot import Snapshot

DAG_ID = "example_mwaa_extras_metadata_export"


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_export_dag(make_airflow_home: Callable[..., AirflowHome], aws: LocalAws, backend: str) -> None:
    if backend == "postgres" and not PG_DSN:
        pytest.skip("set MWAA_EXTRAS_TEST_PG_DSN to run PostgreSQL tests")
    source = make_airflow_home(
        "source", dags_folder=EXAMPLE_DAGS, pg_dsn=PG_DSN if backend == "postgres" else None
    )
    engine = create_engine(source.sql_alchemy_conn)
    seed_history(engine, dags=2, runs_per_dag=40, tasks_per_run=2)
    before = Snapshot(engine)
    engine.dispose()
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="exports")
    env = {**aws.env, "MWAA_EXTRAS_METADATA_BUCKET": "exports"}
    if AIRFLOW_V_3_0_PLUS:
        from airflow_mwaa_extras.testing import standin_rest_api
        from airflow_mwaa_extras.testing.mwaa_standin import start_mwaa_standin

        runner = make_airflow_home("runner", dags_folder=EXAMPLE_DAGS)
        standin = start_mwaa_standin({"metadata-env": source})
        # The stand-in starts the environment's REST API on first use; start it before the
        # task's first InvokeRestApi so a slow start cannot eat the client's timeout.
        status, _ = standin_rest_api.handle_invoke_rest_api(
            "metadata-env",
            source,
            {"Path": "/dags/~/dagRuns", "Method": "GET", "QueryParameters": {"limit": 1}},
        )
        assert status == 200
        try:
            runner.airflow(
                "dags",
                "test",
                DAG_ID,
                timeout=600,
                extra_env={**env, **standin.env, "AIRFLOW_ENV_NAME": "metadata-env"},
            )
        finally:
            standin.stop()
    else:
        source.airflow("dags", "test", DAG_ID, extra_env=env)

    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket="exports", Prefix="airflow-metadata/_manifests/")["Contents"]
    ]
    assert len(keys) == 1
    manifest = read_manifest(s3, "exports", keys[0])
    assert manifest.compression == "gzip"
    assert manifest.older_than is not None
    cutoff = datetime.fromisoformat(manifest.older_than.replace("Z", "+00:00"))
    runs = next(o for o in manifest.objects if o.table == "dag_run")
    assert runs.key.endswith(".csv.gz")
    assert "'" not in runs.key
    rows = list(
        csv.DictReader(
            io.StringIO(
                gzip.decompress(s3.get_object(Bucket="exports", Key=runs.key)["Body"].read()).decode()
            )
        )
    )
    run_key = "dag_run_id" if AIRFLOW_V_3_0_PLUS else "run_id"
    expected = {r for r, v in before.runs.items() if v[0] < cutoff}
    assert {(r["dag_id"], r[run_key]) for r in rows} == expected
    assert runs.rows == len(expected) > 20


def test_cleanup_operator_rejects_bad_arguments_at_run_time() -> None:
    op = MetadataCleanupOperator(task_id="clean", retention_days="soon", bucket="b")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="retention_days must be a whole number"):
        op.execute({"run_id": "manual__x"})  # type: ignore[arg-type]
    op = MetadataCleanupOperator(task_id="clean2", retention_days=30)
    with pytest.raises(UsageError, match="needs a bucket"):
        op.execute({"run_id": "manual__x"})  # type: ignore[arg-type]
