"""Shared fixtures: a real Airflow metadata DB, moto's server, PostgreSQL when a DSN is given.

Airflow reads its configuration when it is first imported, so the session's AIRFLOW_HOME is
created and put into ``os.environ`` in ``pytest_configure``, before any test module (and so
before Airflow) is imported. Its metadata DB is migrated later, once: when a test first asks for
``airflow_home``, or before the first test when a collected module has imported Airflow (hooks
and the ORM may read the DB in-process without asking for a fixture). ``pytest tests/metrics``
imports no Airflow and migrates nothing.

Environment variables:
- ``MWAA_EXTRAS_TEST_PG_DSN``: a PostgreSQL server (``postgresql://user@127.0.0.1:PORT/postgres``)
  on which tests may create databases; tests marked ``postgres`` are skipped without it.
- ``MWAA_EXTRAS_TEST_METADATA_DB=postgres``: the session's own Airflow metadata DB lives on
  that server instead of SQLite.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_mwaa_extras.testing.airflow_home import AirflowHome, create_airflow_home
from airflow_mwaa_extras.testing.local_aws import (
    LocalAws,
    fake_credentials_env,
    patched_environ,
    start_local_aws,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = REPO_ROOT / "example_dags"
PG_DSN = os.environ.get("MWAA_EXTRAS_TEST_PG_DSN") or None

_session: dict[str, Any] = {}

# The session's remote MWAA environment (`remote_env`), shared by every remote test.
pytest_plugins = ["tests.remote_envs", "tests.remote_runs"]


def pytest_configure(config: pytest.Config) -> None:
    if "airflow" in sys.modules:  # it read ~/airflow's configuration, not the session home's
        raise pytest.UsageError(
            "Airflow was imported before the session's home was set (by a pytest plugin?)"
        )
    # Nothing in the suite may reach real AWS: until a test starts moto, boto3 is sent to a
    # closed loopback port with fake credentials.
    os.environ.update(fake_credentials_env())
    tmp = Path(tempfile.mkdtemp(prefix="mwaa-extras-tests-"))
    use_pg = os.environ.get("MWAA_EXTRAS_TEST_METADATA_DB", "sqlite") == "postgres"
    if use_pg and not PG_DSN:
        raise pytest.UsageError("MWAA_EXTRAS_TEST_METADATA_DB=postgres needs MWAA_EXTRAS_TEST_PG_DSN")
    home = create_airflow_home(
        tmp / "airflow", dags_folder=EXAMPLE_DAGS, pg_dsn=PG_DSN if use_pg else None, migrate=False
    )
    os.environ.update(home.env)
    _session["tmp"] = tmp
    _session["home"] = home


def _session_home() -> AirflowHome:
    """The session's home, its metadata DB migrated on the first call."""
    home: AirflowHome = _session["home"]
    if not _session.get("migrated"):
        home.migrate()
        _session["migrated"] = True
    return home


def pytest_collection_finish(session: pytest.Session) -> None:
    if "airflow" in sys.modules and session.items:
        _session_home()


def pytest_unconfigure(config: pytest.Config) -> None:
    home: AirflowHome | None = _session.get("home")
    if home is not None:
        home.cleanup()
    tmp = _session.get("tmp")
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)


def pytest_report_header(config: pytest.Config) -> list[str]:
    from airflow_mwaa_extras.version_compat import AIRFLOW_VERSION

    home: AirflowHome | None = _session.get("home")
    db = home.sql_alchemy_conn.split("://", 1)[0] if home else "?"
    return [f"airflow: {AIRFLOW_VERSION}, metadata DB: {db}, PostgreSQL DSN: {'yes' if PG_DSN else 'no'}"]


@pytest.fixture(scope="session")
def airflow_home() -> AirflowHome:
    """The session's Airflow home (already in ``os.environ``); its dags folder is example_dags/."""
    return _session_home()


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """A PostgreSQL server DSN on which the test may create databases; skips without one."""
    if not PG_DSN:
        pytest.skip("set MWAA_EXTRAS_TEST_PG_DSN to run PostgreSQL tests")
    return PG_DSN


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    """moto's server on 127.0.0.1 for the whole session, with ``os.environ`` pointing at it."""
    aws = start_local_aws()
    try:
        with patched_environ(aws.env):
            yield aws
    finally:
        aws.stop()


@pytest.fixture
def aws(local_aws: LocalAws) -> LocalAws:
    """moto's server, emptied before the test so resources never leak between tests."""
    local_aws.reset()
    return local_aws


@pytest.fixture
def make_airflow_home(tmp_path: Path) -> Iterator[Callable[..., AirflowHome]]:
    """Factory for further Airflow homes (e.g. a second MWAA environment); cleaned up after."""
    homes: list[AirflowHome] = []

    def factory(name: str = "home", **kwargs: Any) -> AirflowHome:
        home = create_airflow_home(tmp_path / name, **kwargs)
        homes.append(home)
        return home

    yield factory
    for home in homes:
        home.cleanup()
