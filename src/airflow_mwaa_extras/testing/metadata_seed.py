"""A realistic, deterministic Airflow history for tests, the demo and the benchmark.

DAG runs spread evenly over ``days`` (180 by default) with several task instances each, a
failed run now and then (with its ``task_fail`` row on Airflow 2), audit-log rows whose
``extra`` holds JSON with commas and quotes, and some runs that are still running or queued,
including one stuck running for months (a cleanup must never touch it). Rows are inserted in
bulk (``executemany`` batches), about 20,000 rows a second on SQLite.
"""

from __future__ import annotations

import io
import json
import pickle
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.metadata import formats
from airflow_mwaa_extras.metadata.tables import reflect_schema

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

BATCH = 5000
ACTIVE_STATES = ("running", "queued")
# A task_fail row repeats these columns of its task instance (Airflow 2 only).
_TASK_FAIL_FROM_TI = ("dag_id", "run_id", "task_id", "map_index", "start_date", "end_date")


@dataclass(frozen=True)
class SeedSummary:
    dag_ids: list[str]
    dag_runs: int
    task_instances: int
    task_fails: int
    logs: int
    now: datetime


def seed_history(
    engine: Engine,
    *,
    dags: int = 10,
    runs_per_dag: int = 200,
    tasks_per_run: int = 5,
    days: int = 180,
    now: datetime | None = None,
    with_dag_rows: bool = True,
    stuck_run: bool = True,
) -> SeedSummary:
    """Insert the history; ``now`` (UTC) is the end of the period (default: the current time).

    The last run of DAG 0 is running, the last run of DAG 1 queued, and the first (oldest) run
    of DAG 2 has been stuck running since the start of the period (unless ``stuck_run=False``).
    """
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    with engine.connect() as probe:
        schema = reflect_schema(probe)
    v3 = schema.airflow_3
    naive = engine.dialect.name == "sqlite"
    start = now - timedelta(days=days)
    step = timedelta(days=days) / runs_per_dag
    dag_ids = [f"seed_dag_{i:02d}" for i in range(dags)]
    counts = {"dag_run": 0, "task_instance": 0, "task_fail": 0, "log": 0}

    def ts(value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=None) if naive else value

    def runs() -> Iterator[dict[str, Any]]:
        for d, dag_id in enumerate(dag_ids):
            for r in range(runs_per_dag):
                logical = start + step * r + timedelta(minutes=d)
                state = "success" if r % 7 else "failed"
                if (d == 0 and r == runs_per_dag - 1) or (stuck_run and d == 2 and r == 0):
                    state = "running"
                elif d == 1 and r == runs_per_dag - 1:
                    state = "queued"
                started = logical + timedelta(minutes=1)
                ended = None if state in ACTIVE_STATES else started + timedelta(minutes=3)
                run_id = f"scheduled__{logical.isoformat()}"
                row: dict[str, Any] = {
                    "dag_id": dag_id,
                    "run_id": run_id,
                    "queued_at": ts(logical),
                    "start_date": ts(None if state == "queued" else started),
                    "end_date": ts(ended),
                    "state": state,
                    "run_type": "scheduled",
                    "data_interval_start": ts(logical - step),
                    "data_interval_end": ts(logical),
                    "clear_number": 0,
                }
                if v3:
                    row.update(
                        logical_date=ts(logical),
                        run_after=ts(logical),
                        triggered_by="TIMETABLE",
                        conf={"source": "seed", "n": r},
                    )
                else:
                    row.update(
                        execution_date=ts(logical),
                        external_trigger=False,
                        conf=pickle.dumps({"source": "seed", "n": r}),
                    )
                yield row

    def children(run: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        tis, fails = [], []
        logical = run["logical_date" if v3 else "execution_date"]
        for t in range(tasks_per_run):
            task_id = f"task_{t}"
            if run["state"] == "success":
                state: str | None = "success"
            elif run["state"] == "failed":
                state = "failed" if t == tasks_per_run - 1 else "success"
            elif run["state"] == "running":
                state = "success" if t == 0 else ("running" if t == 1 else None)
            else:
                state = None
            begun = None if state is None else logical + timedelta(minutes=1, seconds=30 * t)
            ended = begun + timedelta(seconds=25) if state in ("success", "failed") and begun else None
            ti: dict[str, Any] = {
                "dag_id": run["dag_id"],
                "run_id": run["run_id"],
                "task_id": task_id,
                "map_index": -1,
                "start_date": begun,
                "end_date": ended,
                "duration": 25.0 if ended else None,
                "state": state,
                "try_number": 1 if state else 0,
                "max_tries": 1,
                "hostname": "worker-1.internal",
                "unixname": "airflow",
                "pool": "default_pool",
                "pool_slots": 1,
                "queue": "default",
                "priority_weight": tasks_per_run - t,
                "operator": "PythonOperator",
                "executor_config": pickle.dumps({}),
            }
            if v3:
                ti["id"] = uuid.uuid4().hex if naive else str(uuid.uuid4())
            tis.append(ti)
            if state == "failed" and schema.has_table("task_fail"):
                fails.append({k: ti[k] for k in _TASK_FAIL_FROM_TI} | {"duration": 25})
        log = {
            "dttm": run["end_date"] or run["queued_at"],
            "dag_id": run["dag_id"],
            "task_id": None,
            "event": f"dag_run_{run['state']}",
            "run_id": run["run_id"],
            "owner": "airflow",
            "extra": '{"host": "scheduler-1", "note": "ran, \\"as planned\\""}',
            ("logical_date" if v3 else "execution_date"): logical,
        }
        return tis, fails, log

    with engine.begin() as conn:
        if with_dag_rows:
            _insert_dags(conn, schema, dag_ids, v3, ts(now))
        batch: dict[str, list[dict[str, Any]]] = {
            "dag_run": [],
            "task_instance": [],
            "task_fail": [],
            "log": [],
        }

        def flush() -> None:
            for name in ("dag_run", "task_instance", "task_fail", "log"):
                if batch[name]:
                    if conn.dialect.name == "postgresql":
                        _copy_in(conn, name, batch[name])
                    else:
                        conn.execute(schema.table(name).insert(), batch[name])
                    counts[name] += len(batch[name])
                    batch[name] = []

        for run in runs():
            tis, fails, log = children(run)
            batch["dag_run"].append(run)
            batch["task_instance"].extend(tis)
            batch["task_fail"].extend(fails)
            batch["log"].append(log)
            if len(batch["task_instance"]) >= BATCH:
                flush()
        flush()
    return SeedSummary(
        dag_ids, counts["dag_run"], counts["task_instance"], counts["task_fail"], counts["log"], now
    )


def _copy_in(conn: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's bulk load (``COPY ... FROM STDIN``): ten times faster than INSERTs."""
    columns = list(rows[0])
    buffer = io.StringIO()
    for row in rows:
        buffer.write(formats.csv_line([_pg_text(row.get(c)) for c in columns]))
    buffer.seek(0)
    with conn.connection.cursor() as cur:
        cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buffer)


def _pg_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def _insert_dags(conn: Connection, schema: Any, dag_ids: list[str], v3: bool, now: datetime | None) -> None:
    dags = []
    for dag_id in dag_ids:
        row: dict[str, Any] = {
            "dag_id": dag_id,
            "is_paused": False,
            "last_parsed_time": now,
            "fileloc": f"/dags/{dag_id}.py",
            "owners": "airflow",
            "max_active_tasks": 16,
            "max_active_runs": 16,
            "max_consecutive_failed_dag_runs": 0,
            "has_task_concurrency_limits": False,
        }
        if v3:
            row.update(
                is_stale=False, bundle_name="dags-folder", timetable_type="cron", partition_mapper_info={}
            )
        else:
            row.update(is_active=True, is_subdag=False)
        dags.append(row)
    if v3:
        from sqlalchemy import MetaData, Table, select

        bundle = Table("dag_bundle", MetaData(), autoload_with=conn)
        if conn.execute(select(bundle.c.name).where(bundle.c.name == "dags-folder")).first() is None:
            conn.execute(bundle.insert(), [{"name": "dags-folder", "active": True}])
    conn.execute(schema.table("dag").insert(), dags)
    conn.execute(schema.table("dag_tag").insert(), [{"dag_id": d, "name": "seed"} for d in dag_ids])


def seed_airflow_3_extras(engine: Engine, *, now: datetime | None = None, days: int = 180) -> dict[str, int]:
    """What Airflow 3 histories also hold, on top of :func:`seed_history` (Airflow 3 only).

    Per seeded DAG: manual runs without a logical date (one started long ago, one recent), a
    mapped task (three map indexes) in each of them, and an XCom per task instance of those runs.
    """
    from sqlalchemy import func, select

    now = (now or datetime.now(UTC)).replace(microsecond=0)
    with engine.connect() as probe:
        schema = reflect_schema(probe)
    if not schema.airflow_3:
        raise ValueError("runs without a logical date exist on Airflow 3 only")
    naive = engine.dialect.name == "sqlite"

    def ts(value: datetime) -> datetime:
        return value.replace(tzinfo=None) if naive else value

    dag_run, ti, xcom = schema.table("dag_run"), schema.table("task_instance"), schema.table("xcom")
    counts = {"dag_run": 0, "task_instance": 0, "xcom": 0}
    with engine.begin() as conn:
        dag_ids = [r[0] for r in conn.execute(select(dag_run.c.dag_id).distinct().order_by(dag_run.c.dag_id))]
        for dag_id in dag_ids:
            for n, age in enumerate((days - 5, 2)):
                started = now - timedelta(days=age)
                run_id = f"manual__nodate_{n}_{uuid.uuid4().hex[:6]}"
                conn.execute(
                    dag_run.insert(),
                    {
                        "dag_id": dag_id,
                        "run_id": run_id,
                        "logical_date": None,
                        "run_after": ts(started),
                        "queued_at": ts(started),
                        "start_date": ts(started),
                        "end_date": ts(started + timedelta(minutes=2)),
                        "state": "success",
                        "run_type": "manual",
                        "triggered_by": "REST_API",
                        "conf": {"why": "no logical date"},
                        "clear_number": 0,
                    },
                )
                pk = conn.execute(
                    select(func.max(dag_run.c.id)).where(
                        dag_run.c.dag_id == dag_id, dag_run.c.run_id == run_id
                    )
                ).scalar_one()
                for index in range(3):
                    began = started + timedelta(seconds=10 * index)
                    conn.execute(
                        ti.insert(),
                        {
                            "id": uuid.uuid4().hex if naive else str(uuid.uuid4()),
                            "dag_id": dag_id,
                            "run_id": run_id,
                            "task_id": "mapped",
                            "map_index": index,
                            "start_date": ts(began),
                            "end_date": ts(began + timedelta(seconds=5)),
                            "duration": 5.0,
                            "state": "success",
                            "try_number": 1,
                            "max_tries": 0,
                            "pool": "default_pool",
                            "pool_slots": 1,
                            "queue": "default",
                            "priority_weight": 1,
                            "operator": "PythonOperator",
                            "executor_config": pickle.dumps({}),
                        },
                    )
                    conn.execute(
                        xcom.insert(),
                        {
                            "dag_run_id": pk,
                            "dag_id": dag_id,
                            "run_id": run_id,
                            "task_id": "mapped",
                            "map_index": index,
                            "key": "return_value",
                            "value": {"rows": index},
                            "timestamp": ts(began + timedelta(seconds=5)),
                        },
                    )
                    counts["task_instance"] += 1
                    counts["xcom"] += 1
                counts["dag_run"] += 1
    return counts
