"""Delete old metadata safely: archive to S3 first, verify, then delete in small transactions.

What a cleanup deletes, given ``retention_days`` and ``keep_last_runs``:

- DAG runs dated (``execution_date`` / ``logical_date``) before the cutoff, except the last
  ``keep_last_runs`` runs of each DAG, runs that are running or queued, and runs with a task
  instance still in flight; with each run its task instances, task failures, reschedules and
  XComs (and, through the database's cascades, its rendered fields, notes and task maps);
- audit-log rows (``log``) older than the cutoff.

It never deletes DAG definitions (``dag``, ``dag_tag``): a DAG that still exists keeps its
pause state, tags and owners.

Every batch of ``batch_size`` runs is deleted in its own transaction, children first, so a
crash at any moment leaves whole runs either present or gone, and a re-run finishes the job.

About 360 lines, one job: selecting, archiving and deleting are the steps of one crash-safe
sequence, kept together so their order (archive and verify before any delete) reads in one place.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.metadata.export import ExportResult, ExportSettings, write_archive
from airflow_mwaa_extras.metadata.manifest import utc_now, verify_manifest
from airflow_mwaa_extras.metadata.readers import Condition
from airflow_mwaa_extras.metadata.tables import MetadataSchema, reflect_schema

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = [
    "ACTIVE_RUN_STATES",
    "ACTIVE_TI_STATES",
    "RUN_CHILD_TABLES",
    "SQLITE_IN_CHUNK",
    "CleanupPolicy",
    "CleanupReport",
    "run_cleanup",
]

ACTIVE_RUN_STATES = ("running", "queued")
# Task instances in these states belong to a run that is not over, whatever the run says.
ACTIVE_TI_STATES = (
    "running",
    "queued",
    "scheduled",
    "up_for_retry",
    "up_for_reschedule",
    "deferred",
    "restarting",
)
RUN_CHILD_TABLES = ("task_fail", "task_reschedule", "xcom", "task_instance")
SQLITE_IN_CHUNK = 500


@dataclass(frozen=True)
class CleanupPolicy:
    """What to delete.

    :param retention_days: rows newer than this many days are kept (required, at least 1).
    :param keep_last_runs: the most recent runs kept per DAG, however old (default 1).
    :param clean_log: also delete audit-log rows older than the cutoff.
    :param batch_size: DAG runs (or log rows) per delete transaction.
    """

    retention_days: int
    keep_last_runs: int = 1
    clean_log: bool = True
    batch_size: int = 1000

    def validated(self) -> CleanupPolicy:
        if not isinstance(self.retention_days, int) or self.retention_days < 1:
            raise UsageError(
                f"retention_days must be a whole number of days >= 1, got {self.retention_days!r}"
            )
        if self.keep_last_runs < 0:
            raise UsageError(f"keep_last_runs must be >= 0, got {self.keep_last_runs}")
        if self.batch_size < 1:
            raise UsageError(f"batch_size must be >= 1, got {self.batch_size}")
        return self


@dataclass
class CleanupReport:
    cutoff: datetime
    dry_run: bool
    counts: dict[str, int]
    deleted: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    manifest_key: str | None = None
    # The longest delete transaction, begin to commit: how long one batch held its row locks.
    longest_batch_seconds: float = 0.0

    def time_batch(self, started: float) -> None:
        self.batches += 1
        self.longest_batch_seconds = max(self.longest_batch_seconds, time.monotonic() - started)

    def summary(self) -> str:
        what = "would delete" if self.dry_run else "deleted"
        counts = self.counts if self.dry_run else self.deleted
        tables = ", ".join(f"{t}={n}" for t, n in counts.items())
        return f"cutoff {self.cutoff.isoformat()}: {what} {tables}"


@dataclass(frozen=True)
class _Plan:
    # 8 bytes a run (not a list of int objects), read from a streaming cursor: a million runs
    # are 8 MB, and never a buffered result set on top.
    run_ids: array[int]
    log_max_id: int | None
    counts: dict[str, int]


def run_cleanup(
    engine: Engine,
    policy: CleanupPolicy,
    *,
    s3_client: Any = None,
    archive: ExportSettings | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> CleanupReport:
    """Plan, archive (unless ``archive`` is None), verify, then delete in batches.

    :param archive: where to archive; ``None`` deletes without archive (say so explicitly).
    :param dry_run: only count what would be deleted, per table.
    :raises ManifestVerificationError: when S3 does not hold what is about to be deleted; then
        nothing is deleted.
    """
    policy.validated()
    if archive is not None:
        archive.validated()
        if s3_client is None:
            raise UsageError("an archive needs an S3 client")
    cutoff = (now or utc_now()) - timedelta(days=policy.retention_days)
    with engine.connect() as probe:
        schema = reflect_schema(probe)
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        plan = _plan(conn, schema, policy, cutoff)
        report = CleanupReport(cutoff=cutoff, dry_run=dry_run, counts=plan.counts)
        if dry_run:
            return report
        exported: ExportResult | None = None
        if archive is not None and any(plan.counts.values()):
            exported = write_archive(
                conn,
                schema,
                s3_client,
                archive,
                _archive_selections(schema, plan, cutoff, engine),
                older_than=cutoff,
            )
    if exported is not None:
        verify_manifest(s3_client, exported.manifest_key, exported.manifest, plan.counts)
        report.manifest_key = exported.manifest_key
    _delete(engine, schema, plan, cutoff, policy, report)
    return report


def _run_date(schema: MetadataSchema) -> Any:
    return schema.table("dag_run").c[schema.run_date_column]


def _plan(conn: Connection, schema: MetadataSchema, policy: CleanupPolicy, cutoff: datetime) -> _Plan:
    from sqlalchemy import and_, exists, func, not_, select

    dag_run = schema.table("dag_run")
    ti = schema.table("task_instance")
    run_date = _run_date(schema)
    ranked = select(
        dag_run.c.id,
        func.row_number()
        .over(partition_by=dag_run.c.dag_id, order_by=(run_date.desc(), dag_run.c.id.desc()))
        .label("rn"),
    ).subquery("ranked")
    kept = select(ranked.c.id).where(ranked.c.rn <= policy.keep_last_runs)
    in_flight = exists().where(
        and_(
            ti.c.dag_id == dag_run.c.dag_id, ti.c.run_id == dag_run.c.run_id, ti.c.state.in_(ACTIVE_TI_STATES)
        )
    )
    query = (
        select(dag_run.c.id)
        .where(
            run_date < _param(conn, cutoff),
            dag_run.c.state.isnot(None),
            dag_run.c.state.notin_(ACTIVE_RUN_STATES),
            not_(in_flight),
            dag_run.c.id.notin_(kept) if policy.keep_last_runs else dag_run.c.id.isnot(None),
        )
        .order_by(dag_run.c.id)
    )
    result = conn.execution_options(stream_results=True, max_row_buffer=10_000).execute(query)
    run_ids = array("q", (int(r[0]) for r in result))
    counts = {"dag_run": len(run_ids)}
    for name in _run_child_tables(schema):
        child = schema.table(name)
        total = 0
        for cond in _run_conditions(run_ids, conn.dialect.name):
            join = child.join(
                dag_run, and_(child.c.dag_id == dag_run.c.dag_id, child.c.run_id == dag_run.c.run_id)
            )
            total += conn.execute(
                select(func.count()).select_from(join).where(cond(child, dag_run))
            ).scalar_one()
        counts[name] = total
    log_max_id = None
    if policy.clean_log and schema.has_table("log"):
        log = schema.table("log")
        log_max_id = conn.execute(select(func.max(log.c.id))).scalar()
        counts["log"] = conn.execute(
            select(func.count()).select_from(log).where(_log_condition(cutoff, log_max_id, conn)(log, None))
        ).scalar_one()
    return _Plan(run_ids, log_max_id, counts)


def _run_child_tables(schema: MetadataSchema) -> list[str]:
    """Child tables keyed by (dag_id, run_id) here; others (Airflow 3's task_reschedule) cascade."""
    return [
        name
        for name in RUN_CHILD_TABLES
        if schema.has_table(name) and {"dag_id", "run_id"} <= set(schema.table(name).c.keys())
    ]


def _param(conn: Connection, value: datetime) -> datetime:
    # SQLite keeps naive UTC strings: compare like with like.
    return value.replace(tzinfo=None) if conn.dialect.name == "sqlite" else value


def _run_conditions(run_ids: Sequence[int], dialect: str) -> list[Condition]:
    """Conditions selecting rows of the given runs: one array on PostgreSQL, chunks elsewhere."""
    from sqlalchemy import Integer, any_, bindparam
    from sqlalchemy.dialects.postgresql import ARRAY

    if not run_ids:
        return []
    if dialect == "postgresql":
        ids = list(run_ids)
        return [
            lambda table, dag_run: (
                (dag_run if dag_run is not None else table).c.id
                == any_(bindparam("run_ids", ids, type_=ARRAY(Integer)))
            )
        ]
    chunks = [list(run_ids[i : i + SQLITE_IN_CHUNK]) for i in range(0, len(run_ids), SQLITE_IN_CHUNK)]
    return [_in_condition(chunk) for chunk in chunks]


def _in_condition(chunk: list[int]) -> Condition:
    return lambda table, dag_run: (dag_run if dag_run is not None else table).c.id.in_(chunk)


def _log_condition(cutoff: datetime, max_id: int | None, conn: Connection) -> Condition:
    from sqlalchemy import and_

    bound = _param(conn, cutoff)
    return lambda table, _: and_(table.c.dttm < bound, table.c.id <= (max_id or 0))


def _archive_selections(
    schema: MetadataSchema, plan: _Plan, cutoff: datetime, engine: Engine
) -> list[tuple[Any, list[Condition]]]:
    dialect = engine.dialect.name
    selections: list[tuple[Any, list[Condition]]] = []
    run_conds = _run_conditions(plan.run_ids, dialect)
    for name in ("dag_run", *RUN_CHILD_TABLES):
        if name in plan.counts:
            selections.append((schema.spec(name), run_conds))
    if "log" in plan.counts:
        bound = cutoff.replace(tzinfo=None) if dialect == "sqlite" else cutoff
        max_id = plan.log_max_id or 0
        from sqlalchemy import and_

        selections.append((schema.spec("log"), [lambda t, _: and_(t.c.dttm < bound, t.c.id <= max_id)]))
    return selections


def _delete(
    engine: Engine,
    schema: MetadataSchema,
    plan: _Plan,
    cutoff: datetime,
    policy: CleanupPolicy,
    report: CleanupReport,
) -> None:
    from sqlalchemy import and_, delete, select

    dag_run = schema.table("dag_run")
    deleted = dict.fromkeys(plan.counts, 0)
    for start in range(0, len(plan.run_ids), policy.batch_size):
        chunk = list(plan.run_ids[start : start + policy.batch_size])
        began = time.monotonic()
        with _transaction(engine) as conn:
            # Re-check the state: a run cleared since the plan is running again; leave it alone.
            runs = select(dag_run.c.dag_id, dag_run.c.run_id).where(
                dag_run.c.id.in_(chunk), dag_run.c.state.notin_(ACTIVE_RUN_STATES)
            )
            for name in RUN_CHILD_TABLES:
                if name in plan.counts:
                    child = schema.table(name)
                    pairs = runs.where(
                        and_(dag_run.c.dag_id == child.c.dag_id, dag_run.c.run_id == child.c.run_id)
                    )
                    res = conn.execute(delete(child).where(pairs.exists()))
                    deleted[name] += res.rowcount
            res = conn.execute(
                delete(dag_run).where(dag_run.c.id.in_(chunk), dag_run.c.state.notin_(ACTIVE_RUN_STATES))
            )
            deleted["dag_run"] += res.rowcount
        report.time_batch(began)
    if "log" in plan.counts and plan.log_max_id is not None:
        log = schema.table("log")
        while True:
            began = time.monotonic()
            with _transaction(engine) as conn:
                cond = _log_condition(cutoff, plan.log_max_id, conn)(log, None)
                ids = select(log.c.id).where(cond).order_by(log.c.id).limit(policy.batch_size)
                res = conn.execute(delete(log).where(log.c.id.in_(ids.scalar_subquery())))
            report.time_batch(began)
            deleted["log"] += res.rowcount
            if res.rowcount < policy.batch_size:
                break
    report.deleted = deleted


class _transaction:
    """One short transaction; on SQLite with foreign keys on, so the cascades Airflow declares run."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._tx: Any = None

    def __enter__(self) -> Connection:
        self._conn = self._engine.connect()
        if self._engine.dialect.name == "sqlite":
            self._conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            if self._conn.in_transaction():  # SQLAlchemy 2 autobegins; the PRAGMA needs none
                tx = self._conn.get_transaction()
                assert tx is not None
                tx.commit()
        self._tx = self._conn.begin()
        return self._conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self._conn is not None
        try:
            if exc_type is None:
                self._tx.commit()
            else:
                self._tx.rollback()
        finally:
            self._conn.close()
