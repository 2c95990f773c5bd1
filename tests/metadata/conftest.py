"""Seeded metadata databases (SQLite and PostgreSQL) and helpers to read what the tests expect.

Each test module seeds one database per backend once (thousands of DAG runs over 180 days),
and every test that deletes gets its own copy: a file copy on SQLite, ``CREATE DATABASE ...
TEMPLATE`` on PostgreSQL.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from airflow_mwaa_extras.testing.airflow_home import (
    AirflowHome,
    create_airflow_home,
    pg_copy_database,
    pg_drop_database,
)
from airflow_mwaa_extras.testing.metadata_seed import SeedSummary, seed_history
from tests.conftest import PG_DSN

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
DAGS = 10
RUNS_PER_DAG = 300
TASKS_PER_RUN = 5


@dataclass
class SeededDb:
    """A seeded metadata DB; :meth:`copy` gives an independent database with the same rows."""

    backend: str
    url: str
    summary: SeedSummary
    home: AirflowHome
    _engines: list[Engine] = field(default_factory=list)
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    def engine(self, url: str | None = None) -> Engine:
        engine = create_engine(url or self.url)
        self._engines.append(engine)
        return engine

    def copy(self, tmp_path: Path) -> str:
        if self.backend == "sqlite":
            target = tmp_path / f"copy-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(self.url.removeprefix("sqlite:///"), target)
            return f"sqlite:///{target}"
        assert PG_DSN
        assert self.home.pg_database
        for engine in self._engines:  # a template database must have no other sessions
            engine.dispose()
        name = f"mwaa_extras_m5_{uuid.uuid4().hex[:10]}"
        pg_copy_database(PG_DSN, self.home.pg_database, name)
        self._cleanups.append(lambda: pg_drop_database(PG_DSN, name))
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()
        for cleanup in self._cleanups:
            cleanup()
        self.home.cleanup()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededDb]:
    """One seeded database per backend for the test module."""
    backend = request.param
    if backend == "postgres" and not PG_DSN:
        pytest.skip("set MWAA_EXTRAS_TEST_PG_DSN to run PostgreSQL tests")
    home = create_airflow_home(
        tmp_path_factory.mktemp(f"meta-{backend}"), pg_dsn=PG_DSN if backend == "postgres" else None
    )
    url = home.sql_alchemy_conn
    engine = create_engine(url)
    try:
        summary = seed_history(
            engine, dags=DAGS, runs_per_dag=RUNS_PER_DAG, tasks_per_run=TASKS_PER_RUN, now=NOW
        )
    finally:
        engine.dispose()
    db = SeededDb(backend=backend, url=url, summary=summary, home=home)
    yield db
    db.close()


def rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def s3_body(s3: Any, bucket: str, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body
