"""A second local "MWAA environment" ready to receive triggers: its own home, DB and one DAG.

Used by the tests, the demo and the benchmark of the remote CLI: :func:`prepare_remote_home`
creates an Airflow home whose dags folder holds :data:`TARGET_DAG_ID` and registers the DAG in
that home's metadata DB (``dags trigger`` needs it there), then :func:`run_conf` reads back what
the remote side stored for a run.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

from airflow_mwaa_extras.testing.airflow_home import AirflowHome, create_airflow_home

TARGET_DAG_ID = "mwaa_extras_standin_target"

_TARGET_DAG = f'''
"""Triggered through the MWAA stand-in; it only has to exist (runs stay queued: it is paused)."""
from __future__ import annotations

import datetime

from airflow_mwaa_extras.version_compat import DAG, PythonOperator

with DAG(dag_id="{TARGET_DAG_ID}", schedule=None, start_date=datetime.datetime(2024, 1, 1), catchup=False):
    PythonOperator(task_id="noop", python_callable=lambda: None)
'''


def write_target_dag(folder: Path) -> Path:
    """Write the target DAG file into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{TARGET_DAG_ID}.py"
    path.write_text(_TARGET_DAG)
    return path


def prepare_remote_home(path: Path | str, *, pg_dsn: str | None = None) -> AirflowHome:
    """A migrated Airflow home with the target DAG registered in its metadata DB."""
    home = create_airflow_home(Path(path), pg_dsn=pg_dsn)
    write_target_dag(home.dags_folder)
    home.airflow("dags", "reserialize")
    return home


def _query(home: AirflowHome, sql: str, params: dict[str, str]) -> Any:
    """The first row of a query on the home's metadata DB (SQLite or PostgreSQL), or None."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(home.sql_alchemy_conn)
    try:
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text(sql), params).first()
    finally:
        engine.dispose()


def run_conf(home: AirflowHome, dag_id: str, run_id: str) -> Any:
    """The conf the remote home stored for a run (``None`` when there is no such run).

    Airflow 2 stores it pickled, Airflow 3 as JSON.
    """
    sql = "SELECT conf FROM dag_run WHERE dag_id = :dag_id AND run_id = :run_id"
    row = _query(home, sql, {"dag_id": dag_id, "run_id": run_id})
    if row is None:
        return None
    value = row[0]
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes):
        return pickle.loads(value)
    return json.loads(value) if isinstance(value, str) else value


def count_runs(home: AirflowHome, dag_id: str) -> int:
    """How many runs of ``dag_id`` the home's metadata DB holds."""
    return int(_query(home, "SELECT count(*) FROM dag_run WHERE dag_id = :dag_id", {"dag_id": dag_id})[0])


def run_counts(home: AirflowHome, dag_id: str) -> dict[str, int]:
    """run id -> how many runs of ``dag_id`` with that id the home's metadata DB holds."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(home.sql_alchemy_conn)
    try:
        with engine.connect() as conn:
            stmt = sqlalchemy.text("SELECT run_id FROM dag_run WHERE dag_id = :d")
            counts: dict[str, int] = {}
            for (run_id,) in conn.execute(stmt, {"d": dag_id}):
                counts[run_id] = counts.get(run_id, 0) + 1
            return counts
    finally:
        engine.dispose()


def stored_variables(home: AirflowHome, prefix: str) -> dict[str, str]:
    """key -> value (decrypted with the home's Fernet key) of the variables whose key starts
    with ``prefix``, as the home's metadata DB holds them."""
    import sqlalchemy
    from cryptography.fernet import Fernet

    engine = sqlalchemy.create_engine(home.sql_alchemy_conn)
    try:
        with engine.connect() as conn:
            stmt = sqlalchemy.text("SELECT key, val, is_encrypted FROM variable WHERE key LIKE :p")
            rows = conn.execute(stmt, {"p": prefix + "%"}).all()
    finally:
        engine.dispose()
    key = home.full_env().get("AIRFLOW__CORE__FERNET_KEY")
    fernet = Fernet(key.encode()) if key else None
    return {
        name: fernet.decrypt(val.encode()).decode() if encrypted and fernet is not None else val
        for name, val, encrypted in rows
    }
