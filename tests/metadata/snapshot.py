"""Every row a cleanup may touch, read with plain SQL, and what a cleanup should leave."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from airflow_mwaa_extras.metadata.tables import reflect_schema

ACTIVE_TI = {"running", "queued", "scheduled", "up_for_retry", "up_for_reschedule", "deferred", "restarting"}
Run = tuple[str, str]


def rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Snapshot:
    def __init__(self, engine: Engine) -> None:
        with engine.connect() as conn:
            date_col = reflect_schema(conn).run_date_column
        self.runs: dict[Run, tuple[Any, ...]] = {
            (d, r): (as_utc(when), state, i, as_utc(started))
            for i, d, r, when, state, started in rows(
                engine, f"SELECT id, dag_id, run_id, {date_col}, state, start_date FROM dag_run"
            )
        }
        self.tis = {
            (d, r, t): state
            for d, r, t, state in rows(engine, "SELECT dag_id, run_id, task_id, state FROM task_instance")
        }
        self.logs = {str(i): as_utc(when) for i, when in rows(engine, "SELECT id, dttm FROM log")}
        self.dags = sorted(rows(engine, "SELECT dag_id, is_paused FROM dag"))
        self.tags = sorted(rows(engine, "SELECT dag_id, name FROM dag_tag"))

    def deletable_runs(self, cutoff: datetime, keep_last: int) -> set[Run]:
        in_flight = {(d, r) for (d, r, _), state in self.tis.items() if state in ACTIVE_TI}
        by_dag: dict[str, list[tuple[datetime, int, Run]]] = {}
        for run, (when, _, run_pk, _) in self.runs.items():
            by_dag.setdefault(run[0], []).append((when, run_pk, run))
        kept = {run for runs in by_dag.values() for _, _, run in sorted(runs, reverse=True)[:keep_last]}
        return {
            run
            for run, (when, state, _, _) in self.runs.items()
            if when < cutoff
            and state not in ("running", "queued", None)
            and run not in kept
            and run not in in_flight
        }

    def old_logs(self, cutoff: datetime) -> set[str]:
        return {i for i, when in self.logs.items() if when is not None and when < cutoff}
