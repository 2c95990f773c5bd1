from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_mwaa_extras.testing.airflow_home import AirflowHome, AirflowHomeError, create_airflow_home


def test_session_home_has_a_migrated_metadata_db(airflow_home: AirflowHome) -> None:
    proc = airflow_home.airflow("db", "check")
    assert proc.returncode == 0
    proc = airflow_home.airflow("config", "get-value", "core", "dags_folder")
    assert proc.stdout.strip().endswith("example_dags")


def test_sqlite_home_has_airflow_tables(make_airflow_home: Callable[..., AirflowHome]) -> None:
    home = make_airflow_home("sqlite-home")
    db = home.path / "airflow.db"
    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"dag", "dag_run", "task_instance", "alembic_version"} <= tables
    # Each home is its own database: a variable set in one is not in another.
    home.airflow("variables", "set", "only_here", "1")
    other = make_airflow_home("other-home")
    assert other.airflow("variables", "get", "only_here", check=False).returncode != 0


@pytest.mark.postgres
def test_postgres_home_gets_its_own_database(
    pg_dsn: str, make_airflow_home: Callable[..., AirflowHome]
) -> None:
    import psycopg2

    home = make_airflow_home("pg-home", pg_dsn=pg_dsn)
    assert home.sql_alchemy_conn.startswith("postgresql+psycopg2://")
    home.airflow("variables", "set", "pg_probe", "42")
    assert home.airflow("variables", "get", "pg_probe").stdout.strip().splitlines()[-1] == "42"
    database = home.pg_database
    home.cleanup()
    with psycopg2.connect(pg_dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        assert cur.fetchone() is None


def test_a_bad_dsn_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AirflowHomeError, match="postgresql:// DSN"):
        create_airflow_home(tmp_path / "h", pg_dsn="mysql://x@127.0.0.1/db")
