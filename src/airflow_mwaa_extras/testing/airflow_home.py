"""A throw-away AIRFLOW_HOME with a real, migrated metadata database.

SQLite by default; PostgreSQL when a DSN such as ``postgresql://user@127.0.0.1:5433/postgres``
is given, in which case a fresh database is created on that server for this home. Migrating a
metadata DB takes 10 to 20 seconds, so the first migration of each Airflow version is kept as
a template (a SQLite file in the user cache, or a PostgreSQL template database) and copied.

Airflow reads its configuration at import time: use :attr:`AirflowHome.env` for subprocesses,
or put it into ``os.environ`` before ``import airflow`` in the current process.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from airflow_mwaa_extras.deploy._local_run import (
    exclusive_lock,  # the one flock helper (that script runs alone)
)
from airflow_mwaa_extras.deploy.airflow_home_config import airflow_home_env
from airflow_mwaa_extras.exceptions import MwaaExtrasError
from airflow_mwaa_extras.processes import run_captured


class AirflowHomeError(MwaaExtrasError):
    """The local Airflow home could not be created or migrated."""


def installed_airflow_version() -> str:
    """The installed Airflow's version (:data:`~airflow_mwaa_extras.version_compat.AIRFLOW_VERSION`)."""
    from airflow_mwaa_extras.version_compat import AIRFLOW_VERSION

    if AIRFLOW_VERSION is None:
        raise AirflowHomeError("Apache Airflow is not installed in this environment")
    return str(AIRFLOW_VERSION)


@dataclass
class AirflowHome:
    """A local Airflow home: its folder, DB URL, and the environment that selects it."""

    path: Path
    sql_alchemy_conn: str
    env: dict[str, str]
    pg_admin_dsn: str | None = None
    pg_database: str | None = None
    _cleaned: bool = field(default=False, repr=False)

    @property
    def dags_folder(self) -> Path:
        return Path(self.env["AIRFLOW__CORE__DAGS_FOLDER"])

    @property
    def plugins_folder(self) -> Path:
        return Path(self.env["AIRFLOW__CORE__PLUGINS_FOLDER"])

    def full_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """``os.environ`` with this home's variables (and ``extra``) on top."""
        merged = {**os.environ, **self.env}
        if extra:
            merged.update(extra)
        return merged

    def airflow(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 300,
        extra_env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the real ``airflow`` CLI of this interpreter in this home."""
        proc = run_captured(
            [sys.executable, "-m", "airflow", *args], timeout=timeout, env=self.full_env(extra_env)
        )
        if check and proc.returncode != 0:
            raise AirflowHomeError(
                f"airflow {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}"
            )
        return proc

    def migrate(self) -> None:
        """Give this home a migrated metadata DB (a copy of a cached migration when there is one)."""
        if self.pg_admin_dsn and self.pg_database:
            _pg_create_from_template(self, self.pg_admin_dsn, self.pg_database)
        else:
            _sqlite_from_template(self)

    def cleanup(self) -> None:
        """Drop the PostgreSQL database (if any) and delete the folder."""
        if self._cleaned:
            return
        self._cleaned = True
        if self.pg_admin_dsn and self.pg_database:
            pg_drop_database(self.pg_admin_dsn, self.pg_database)
        shutil.rmtree(self.path, ignore_errors=True)


def create_airflow_home(
    path: Path | str,
    *,
    dags_folder: Path | str | None = None,
    plugins_folder: Path | str | None = None,
    pg_dsn: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    migrate: bool = True,
) -> AirflowHome:
    """Create (and by default migrate) an Airflow home in ``path``.

    :param migrate: False leaves the metadata DB to :meth:`AirflowHome.migrate`, e.g. until a
        test needs it
    """
    home = Path(path).resolve()
    home.mkdir(parents=True, exist_ok=True)
    dags = Path(dags_folder).resolve() if dags_folder else home / "dags"
    plugins = Path(plugins_folder).resolve() if plugins_folder else home / "plugins"
    dags.mkdir(parents=True, exist_ok=True)
    plugins.mkdir(parents=True, exist_ok=True)

    pg_database = None
    if pg_dsn:
        pg_database = f"mwaa_extras_{uuid.uuid4().hex[:12]}"
        conn_url = _sqlalchemy_url(pg_dsn, pg_database)
    else:
        conn_url = f"sqlite:///{home / 'airflow.db'}"

    env = airflow_home_env(home, conn_url, dags, plugins)
    if extra_env:
        env.update(extra_env)
    result = AirflowHome(
        path=home, sql_alchemy_conn=conn_url, env=env, pg_admin_dsn=pg_dsn, pg_database=pg_database
    )
    if migrate:
        result.migrate()
    return result


@contextlib.contextmanager
def airflow_home(path: Path | str, **kwargs: object) -> Iterator[AirflowHome]:
    """:func:`create_airflow_home` for the duration of a block, cleaned up afterwards."""
    home = create_airflow_home(path, **kwargs)  # type: ignore[arg-type]
    try:
        yield home
    finally:
        home.cleanup()


# --- SQLite --------------------------------------------------------------------------------


def _cache_dir() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = root / "airflow-mwaa-extras"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sqlite_from_template(home: AirflowHome) -> None:
    target = home.path / "airflow.db"
    template = _cache_dir() / f"metadb-sqlite-airflow-{installed_airflow_version()}.db"
    with exclusive_lock(template.with_suffix(".lock")):
        if not template.exists():
            home.airflow("db", "migrate")
            tmp = template.with_suffix(".tmp")
            shutil.copyfile(target, tmp)
            tmp.replace(template)
            return
    shutil.copyfile(template, target)


# --- PostgreSQL ----------------------------------------------------------------------------


def _sqlalchemy_url(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg2"):
        raise AirflowHomeError(f"expected a postgresql:// DSN, got scheme {parts.scheme!r}")
    return urlunsplit(("postgresql+psycopg2", parts.netloc, f"/{database}", parts.query, ""))


def _pg_connect(dsn: str):  # type: ignore[no-untyped-def]
    import psycopg2

    parts = urlsplit(dsn)
    plain = urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))
    conn = psycopg2.connect(plain)
    conn.autocommit = True
    return conn


def _pg_create_from_template(home: AirflowHome, dsn: str, database: str) -> None:
    version_slug = re.sub(r"[^0-9a-z]+", "_", installed_airflow_version().lower())
    template = f"mwaa_extras_tpl_{version_slug}"
    conn = _pg_connect(dsn)
    try:
        with conn.cursor() as cur:
            # One process at a time may build the template; the others wait for it.
            cur.execute("SELECT pg_advisory_lock(hashtext(%s))", (template,))
            try:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (template,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{template}"')
                    tpl_env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _sqlalchemy_url(dsn, template)}
                    try:
                        home.airflow("db", "migrate", extra_env=tpl_env)
                    except AirflowHomeError:
                        cur.execute(f'DROP DATABASE IF EXISTS "{template}"')
                        raise
                cur.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
            finally:
                cur.execute("SELECT pg_advisory_unlock(hashtext(%s))", (template,))
    finally:
        conn.close()


def pg_copy_database(dsn: str, template: str, database: str) -> None:
    """Create ``database`` as a copy of ``template`` (which must have no open sessions)."""
    conn = _pg_connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
    finally:
        conn.close()


def pg_drop_database(dsn: str, database: str) -> None:
    """Drop ``database`` (its open sessions are ended first); no error when it does not exist."""
    conn = _pg_connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{database}"')
    finally:
        conn.close()
