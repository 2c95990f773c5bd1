"""Airflow 3: the cleanup example DAG archives exactly what ``db clean`` deletes (issue 13 item 4).

A seeded PostgreSQL (or SQLite) environment behind the MWAA stand-in, with runs that have no
logical date, mapped task instances and XComs; the DAG runs with ``airflow dags test`` twice
for one logical date. Table by table against a snapshot taken before: every deleted run, task
instance and log row is in an archive object that a manifest lists, and the second run loses
nothing the first archived.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.local_aws import LocalAws
from airflow_mwaa_extras.testing.metadata_seed import seed_airflow_3_extras, seed_history
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS
from tests.conftest import EXAMPLE_DAGS, PG_DSN
from tests.metadata.archive_check import archived_rows, manifests_of

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="the REST + db clean path is Airflow 3's"),
]
DAG_ID = "example_mwaa_extras_metadata_cleanup"


def _tables(engine: Any) -> dict[str, dict[Any, Any]]:
    with engine.connect() as conn:

        def q(sql: str) -> list[Any]:
            return [tuple(r) for r in conn.execute(text(sql))]

        return {
            "dag_run": {
                (d, r): (t, s) for d, r, t, s in q("SELECT dag_id, run_id, run_type, start_date FROM dag_run")
            },
            "task_instance": {
                (d, r, t, m): s
                for d, r, t, m, s in q(
                    "SELECT dag_id, run_id, task_id, map_index, start_date FROM task_instance"
                )
            },
            "log": {str(i): w for i, w in q("SELECT id, dttm FROM log")},
            "xcom": {
                (d, r, t, m, k): 1
                for d, r, t, m, k in q("SELECT dag_id, run_id, task_id, map_index, key FROM xcom")
            },
        }


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands raw SQL timestamps back as text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_archive_holds_what_db_clean_deletes_and_a_second_run_loses_nothing(
    make_airflow_home: Callable[..., AirflowHome], aws: LocalAws, backend: str
) -> None:
    from airflow_mwaa_extras.testing import standin_rest_api
    from airflow_mwaa_extras.testing.mwaa_standin import start_mwaa_standin

    if backend == "postgres" and not PG_DSN:
        pytest.skip("set MWAA_EXTRAS_TEST_PG_DSN to run PostgreSQL tests")
    target = make_airflow_home(
        "environment", dags_folder=EXAMPLE_DAGS, pg_dsn=PG_DSN if backend == "postgres" else None
    )
    engine = create_engine(target.sql_alchemy_conn)
    seed_history(engine, dags=3, runs_per_dag=60, tasks_per_run=2, stuck_run=False)
    extras = seed_airflow_3_extras(engine)
    before = _tables(engine)
    runner = make_airflow_home("runner", dags_folder=EXAMPLE_DAGS)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="archive")
    standin = start_mwaa_standin({"metadata-env": target})
    status, _ = standin_rest_api.handle_invoke_rest_api(
        "metadata-env", target, {"Path": "/dags/~/dagRuns", "Method": "GET", "QueryParameters": {"limit": 1}}
    )
    assert status == 200
    env = {
        **aws.env,
        **standin.env,
        "AIRFLOW_ENV_NAME": "metadata-env",
        "MWAA_EXTRAS_METADATA_BUCKET": "archive",
    }
    try:
        runner.airflow("dags", "test", DAG_ID, "2026-01-01", timeout=600, extra_env=env)
        after_first = _tables(engine)
        runner.airflow("dags", "test", DAG_ID, "2026-01-01", timeout=600, extra_env=env)
    finally:
        standin.stop()
    after = _tables(engine)
    engine.dispose()

    manifests = manifests_of(s3, "archive", f"airflow-metadata/_manifests/{DAG_ID}/")
    assert len(manifests) == 2  # both runs' manifests stay
    assert all(m.source == "rest_api_v2" for m in manifests)
    archive = archived_rows(s3, "archive", manifests)
    # The second run's cutoff is a little later: it deletes (and archives) what crossed it since.
    first, second = sorted(manifests, key=lambda m: m.created_at)
    cutoff = datetime.fromisoformat((second.older_than or "").replace("Z", "+00:00"))

    # db clean's rules: runs started before the cutoff, less each DAG's latest non-manual one.
    gone = set(before["dag_run"]) - set(after["dag_run"])
    latest: dict[str, datetime] = {}
    for (dag, _), (run_type, started) in before["dag_run"].items():
        if run_type != "manual" and started is not None:
            latest[dag] = max(latest.get(dag, _utc(started)), _utc(started))  # type: ignore[type-var]
    expected = {
        run
        for run, (_, started) in before["dag_run"].items()
        if started is not None and _utc(started) < cutoff and _utc(started) != latest.get(run[0])  # type: ignore[operator]
    }
    assert gone == expected
    no_date = {run for run in gone if run[1].startswith("manual__nodate_")}
    assert len(no_date) == extras["dag_run"] // 2  # the old runs without a logical date went, archived

    # Table by table: every deleted row is in the archive; nothing archived that stayed.
    assert {(r["dag_id"], r["dag_run_id"]) for r in archive["dag_run"]} == gone
    gone_tis = set(before["task_instance"]) - set(after["task_instance"])
    archived_tis = {
        (r["dag_id"], r["dag_run_id"], r["task_id"], int(r["map_index"])) for r in archive["task_instance"]
    }
    assert archived_tis == gone_tis
    assert {ti for ti in gone_tis if ti[3] >= 0}, "mapped task instances were deleted and archived"
    gone_logs = set(before["log"]) - set(after["log"])
    assert {r["event_log_id"] for r in archive["log"]} == gone_logs
    # XComs go with their task instance (ON DELETE CASCADE); their task instances are archived.
    gone_xcom = set(before["xcom"]) - set(after["xcom"])
    assert gone_xcom
    assert {x[:4] for x in gone_xcom} <= archived_tis
    # The second run replaced nothing: what it deleted is in its own manifest, the first's stays.
    by_second = set(after_first["dag_run"]) - set(after["dag_run"])
    second_runs = archived_rows(s3, "archive", [second])["dag_run"]
    assert by_second == {(r["dag_id"], r["dag_run_id"]) for r in second_runs}
    assert len(archived_rows(s3, "archive", [first])["dag_run"]) == len(gone - by_second)
