"""The REST export path against the real REST API of a local Airflow (v1 on 2.x, v2 on 3.x)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.metadata.export import ExportSettings, export_metadata
from airflow_mwaa_extras.metadata.rest_columns import REST_COLUMNS
from airflow_mwaa_extras.metadata.rest_export import RestExportError, export_via_rest
from airflow_mwaa_extras.testing.airflow_home import AirflowHome, create_airflow_home
from airflow_mwaa_extras.testing.local_aws import LocalAws
from airflow_mwaa_extras.testing.local_rest_api import LocalRestApi, start_local_rest_api
from airflow_mwaa_extras.testing.metadata_seed import seed_history

pytestmark = pytest.mark.slow

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
NEWER = NOW - timedelta(days=75)
OLDER = NOW - timedelta(days=15)


@pytest.fixture(scope="module")
def rest_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AirflowHome, LocalRestApi]]:
    home = create_airflow_home(tmp_path_factory.mktemp("rest") / "home")
    engine = create_engine(home.sql_alchemy_conn)
    seed_history(engine, dags=3, runs_per_dag=60, tasks_per_run=3, now=NOW)
    engine.dispose()
    api = start_local_rest_api(home)
    try:
        yield home, api
    finally:
        api.stop()
        home.cleanup()


def parse(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode(), newline="")))


def test_rest_export_pages_through_the_window(
    rest_home: tuple[AirflowHome, LocalRestApi], aws: LocalAws
) -> None:
    home, api = rest_home
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="exports")
    calls: list[tuple[str, dict[str, Any]]] = []

    def fetch(path: str, params: Any) -> Any:
        calls.append((path, dict(params)))
        return api.get_json(path, params)

    settings = ExportSettings(bucket="exports", run_id="rest", key_template="rest/{attempt}/{table}.{ext}")
    result = export_via_rest(
        fetch, s3, settings, api_version=api.api_version, newer_than=NEWER, older_than=OLDER, page_size=25
    )
    db = export_metadata(
        create_engine(home.sql_alchemy_conn),
        s3,
        ExportSettings(bucket="exports", run_id="db", key_template="db/{attempt}/{table}.{ext}"),
        tables=["dag_run", "task_instance", "log"],
        newer_than=NEWER,
        older_than=OLDER,
    )

    def body(key: str) -> bytes:
        data: bytes = s3.get_object(Bucket="exports", Key=key)["Body"].read()
        return data

    rest_rows = {o.table: parse(body(o.key)) for o in result.manifest.objects}
    db_rows = {o.table: parse(body(o.key)) for o in db.manifest.objects}
    assert result.manifest.source == f"rest_api_{api.api_version}"
    assert len(db_rows["dag_run"]) > 25
    assert len(db_rows["task_instance"]) > 50
    assert {(r["dag_id"], r["dag_run_id"]) for r in rest_rows["dag_run"]} == {
        (r["dag_id"], r["run_id"]) for r in db_rows["dag_run"]
    }
    assert {(r["dag_id"], r["dag_run_id"], r["task_id"]) for r in rest_rows["task_instance"]} == {
        (r["dag_id"], r["run_id"], r["task_id"]) for r in db_rows["task_instance"]
    }
    assert {r["event_log_id"] for r in rest_rows["log"]} == {r["id"] for r in db_rows["log"]}
    # The same values as the database path, in the same text form.
    db_runs = {r["run_id"] + r["dag_id"]: r for r in db_rows["dag_run"]}
    for run in rest_rows["dag_run"]:
        twin = db_runs[run["dag_run_id"] + run["dag_id"]]
        assert (run["state"], run["start_date"], run["end_date"]) == (
            twin["state"],
            twin["start_date"],
            twin["end_date"],
        )
        assert json.loads(run["conf"])["source"] == "seed"
    assert list(rest_rows["dag_run"][0]) == list(REST_COLUMNS[api.api_version]["dag_run"])
    assert {o.table: o.rows for o in result.manifest.objects} == {t: len(r) for t, r in rest_rows.items()}
    pages = [p for p, q in calls if p == "/dags/~/dagRuns"]
    assert len(pages) == len(rest_rows["dag_run"]) // 25 + 1


def test_rest_export_rejects_a_page_without_items(aws: LocalAws) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="exports")
    with pytest.raises(RestExportError, match="'dag_runs'"):
        export_via_rest(
            lambda path, params: {"detail": "nope"},
            s3,
            ExportSettings(bucket="exports"),
            api_version="v2",
            tables=["dag_run"],
        )
    with pytest.raises(UsageError, match="supports the tables"):
        export_via_rest(
            lambda path, params: {}, s3, ExportSettings(bucket="exports"), api_version="v2", tables=["xcom"]
        )
