"""Benchmark: metadata export and cleanup on PostgreSQL, ours against the guide and core, side by side.

Seeds 40,000 DAG runs and 200,000 task instances (180 days) into a fresh PostgreSQL metadata DB,
then measures in separate child processes (so each peak RSS is its own):

- export of dag_run + task_instance to S3 (moto): ours (``COPY``), ours (portable SQLAlchemy
  streaming), and the user guide's approach (``query().all()`` + ``csv.DictWriter`` over ``vars()``);
- peak RSS of ours exporting 50,000 vs 200,000 task instances;
- our in-process export time vs ``psql \\copy (SELECT ...) TO STDOUT`` of the same rows;
- cleanup (90 days) on identical copies: ours (archive + verify + batched delete) vs
  ``airflow db clean --skip-archive``.

Run: ``MWAA_EXTRAS_TEST_PG_DSN=postgresql://user@127.0.0.1:5432/postgres ./dev shell python benchmarks/bench_metadata.py``
(``--runs`` / ``--tasks`` scale it down for a quick look). Each export and cleanup child must
peak within its start RSS + 70 MiB (``VmHWM``), or the run exits 1; SQLite (the portable path)
is measured too.

Scale mode, ``--scale 5``: export and cleanup at the seeded size (200,000 task instances), then
the history multiplied by 5 in SQL (1,000,000 task instances), then again; prints time per row at
both sizes and their ratio (goal <= 1.2), peak RSS, and the longest delete transaction.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
RETENTION_DAYS = 90


MEMORY_BUDGET_MIB = 70  # each export / cleanup child: peak RSS at most its start RSS + this


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_rss_mib() -> float:
    """This process's own peak RSS (``VmHWM``).

    Not ``getrusage().ru_maxrss``: Linux carries the pre-exec peak over an ``exec``, and
    ``subprocess`` forks from the parent, whose RSS grows with everything moto (in-process in
    the parent) stores; so ``ru_maxrss`` reported the parent's size, not the child's (the
    "396 MiB" of the task-instance export child was the parent holding earlier exports).
    """
    return _status_mib("VmHWM")


def current_rss_mib() -> float:
    return _status_mib("VmRSS")


# --- child processes -----------------------------------------------------------------------


def child(mode: str, url: str, extra: dict[str, Any]) -> dict[str, Any]:
    import boto3

    s3 = boto3.client("s3")
    # The budget's base: the process with its libraries loaded, before any row is read.
    from airflow_mwaa_extras.metadata import cleanup, export  # noqa: F401

    start_rss = current_rss_mib()
    result = _child(mode, url, extra, s3)
    return {**result, "start_rss_mib": start_rss}


def _child(mode: str, url: str, extra: dict[str, Any], s3: Any) -> dict[str, Any]:
    from sqlalchemy import create_engine

    if mode == "guide":
        return guide_export(s3)
    if mode in ("ours_copy", "ours_portable", "ours_window"):
        from airflow_mwaa_extras.metadata.export import ExportSettings, export_metadata

        engine = create_engine(url)
        tables = extra.get("tables", ["dag_run", "task_instance"])
        older = datetime.fromisoformat(extra["older_than"]) if extra.get("older_than") else None
        settings = ExportSettings(
            bucket="bench",
            run_id=f"{mode}-{uuid.uuid4().hex[:6]}",
            method="portable" if mode == "ours_portable" else "auto",
        )
        start = time.perf_counter()
        result = export_metadata(engine, s3, settings, tables=tables, older_than=older)
        seconds = time.perf_counter() - start
        rows = sum(o.rows for o in result.manifest.objects)
        return {"seconds": seconds, "rows": rows, "rss_mib": peak_rss_mib()}
    if mode == "ours_cleanup":
        from airflow_mwaa_extras.metadata.cleanup import CleanupPolicy, run_cleanup
        from airflow_mwaa_extras.metadata.export import ExportSettings

        engine = create_engine(url)
        start = time.perf_counter()
        report = run_cleanup(
            engine,
            CleanupPolicy(
                retention_days=RETENTION_DAYS, keep_last_runs=1, batch_size=int(extra.get("batch_size", 1000))
            ),
            s3_client=s3,
            archive=ExportSettings(bucket="bench", run_id="cleanup"),
            now=NOW,
        )
        return {
            "seconds": time.perf_counter() - start,
            "deleted": report.deleted,
            "rss_mib": peak_rss_mib(),
            "longest_batch": report.longest_batch_seconds,
            "batches": report.batches,
        }
    raise SystemExit(f"unknown mode {mode}")


def guide_export(s3: Any) -> dict[str, Any]:
    """The user guide's export DAG, minus Airflow's task machinery: load all, DictWriter(vars())."""
    import csv
    import io

    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session

    start = time.perf_counter()
    rows = 0
    with create_session() as session:
        for model in (DagRun, TaskInstance):
            allrows = session.query(model).all()
            rows += len(allrows)
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, vars(allrows[0]).keys())
            writer.writeheader()
            for row in allrows:
                writer.writerow(vars(row))
            s3.put_object(Bucket="bench", Key=f"files/export/{model.__name__}.csv", Body=buffer.getvalue())
            del allrows, buffer, writer
    return {"seconds": time.perf_counter() - start, "rows": rows, "rss_mib": peak_rss_mib()}


def run_child(mode: str, url: str, env: dict[str, str], **extra: Any) -> dict[str, Any]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--url", url, "--extra", json.dumps(extra)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"child {mode} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


# --- the parent ------------------------------------------------------------------------------


def pg_clone(dsn: str, template: str) -> str:
    import psycopg2

    name = f"mwaa_extras_bench_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    conn.close()
    return name


def pg_drop(dsn: str, name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    conn.close()


def memory_line(label: str, r: dict[str, Any]) -> tuple[str, bool]:
    """One row of the memory table; whether the child stayed within start RSS + the budget."""
    growth = r["rss_mib"] - r["start_rss_mib"]
    ok = growth <= MEMORY_BUDGET_MIB
    line = (
        f"{label:<52}{r['start_rss_mib']:>8.0f}{r['rss_mib']:>8.0f}{growth:>+9.0f}   {'ok' if ok else 'OVER'}"
    )
    return line, ok


def print_memory(results: list[tuple[str, dict[str, Any]]]) -> None:
    print(f"Memory per child process (MiB; goal: peak <= start + {MEMORY_BUDGET_MIB} MiB)")
    print(f"{'child':<52}{'start':>8}{'peak':>8}{'growth':>9}")
    for label, r in results:
        print(memory_line(label, r)[0])


def multiply_history(url: str, factor: int) -> dict[str, int]:
    """Copy every seeded run (with its task instances, failures and log rows) ``factor - 1`` times.

    One ``INSERT ... SELECT ... CROSS JOIN generate_series`` per table: each copy's run id gets a
    suffix and its date a few seconds more, so the copies spread over the same 180 days and a
    cleanup finds the same share of old runs. Seeds a million task instances in seconds.
    """
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        date_col = (
            "logical_date"
            if "logical_date" in {c["name"] for c in inspect(conn).get_columns("dag_run")}
            else "execution_date"
        )
        for table in ("dag_run", "task_instance", "task_fail", "log"):
            columns = [c["name"] for c in inspect(conn).get_columns(table)]
            if table in ("dag_run", "task_fail", "log"):
                columns.remove("id")  # serial
            if table == "task_instance" and "id" in columns:  # Airflow 3: a uuid
                exprs = {"id": "gen_random_uuid()"}
            else:
                exprs = {}
            exprs["run_id"] = "run_id || '_copy' || k"
            if table == "dag_run":
                exprs[date_col] = f"{date_col} + k * interval '1 second'"
            select_list = ", ".join(exprs.get(c, c) for c in columns)
            names = ", ".join(columns)
            conn.execute(
                text(
                    f"INSERT INTO {table} ({names}) SELECT {select_list} "
                    f"FROM {table} CROSS JOIN generate_series(1, {factor - 1}) AS k"
                )
            )
            counts[table] = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return counts


def scale_point(
    label: str, url: str, env: dict[str, str], pg_dsn: str, database: str
) -> dict[str, dict[str, Any]]:
    """Export (dag_run + task_instance) and cleanup (on a copy) at one size, each in its own process."""
    export = run_child("ours_copy", url, env)
    clone = pg_clone(pg_dsn, database)
    try:
        cleanup = run_child("ours_cleanup", f"{url.rsplit('/', 1)[0]}/{clone}", env)
    finally:
        pg_drop(pg_dsn, clone)
    cleanup["rows"] = sum(cleanup["deleted"].values())
    print(
        f"{label}: export {export['rows']:,} rows in {export['seconds']:.2f} s, peak {export['rss_mib']:.0f} MiB; "
        f"cleanup {cleanup['rows']:,} rows in {cleanup['seconds']:.2f} s, peak {cleanup['rss_mib']:.0f} MiB, "
        f"longest delete transaction {cleanup['longest_batch']:.3f} s",
        flush=True,
    )
    return {"export": export, "cleanup": cleanup}


def our_queries(url: str, tables: tuple[str, ...]) -> list[str]:
    """The SELECT our COPY path sends for each whole table, as text."""
    from sqlalchemy import create_engine, true

    from airflow_mwaa_extras.metadata.readers import copy_select_sql
    from airflow_mwaa_extras.metadata.tables import reflect_schema

    engine = create_engine(url)
    with engine.connect() as conn:
        schema = reflect_schema(conn)
        queries = [copy_select_sql(conn, schema, schema.spec(t), lambda *_: true(), "csv") for t in tables]
    engine.dispose()
    return queries


def empty_bucket(s3: Any) -> None:
    """moto keeps objects in the parent's memory: drop what a measurement wrote."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="bench"):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket="bench", Delete={"Objects": keys})


def run_scale(home: Any, env: dict[str, str], pg_dsn: str, factor: int, s3: Any) -> None:
    """Measure at the seeded size, multiply the history by ``factor``, measure again."""
    assert home.pg_database
    url = home.sql_alchemy_conn
    small = scale_point("base", url, env, pg_dsn, home.pg_database)
    empty_bucket(s3)
    t0 = time.perf_counter()
    counts = multiply_history(url, factor)
    print(
        f"multiplied by {factor}: {counts['dag_run']:,} runs, {counts['task_instance']:,} task instances, "
        f"{counts['log']:,} log rows in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    large = scale_point("large", url, env, pg_dsn, home.pg_database)
    print()
    print(f"Scale: {factor}x the history, each measurement in its own process (PostgreSQL, S3 on moto)")
    head = f"{'':<10}{'rows':>12}{'seconds':>9}{'us/row':>8}{'peak MiB':>10}"
    print(f"{'':<10}{'export (dag_run + task_instance)':<47}  cleanup (archive + verify + delete)")
    print(head + "  " + head[10:] + f"{'longest tx s':>14}")
    for label, point in (("base", small), (f"{factor}x", large)):
        e, c = point["export"], point["cleanup"]
        print(
            f"{label:<10}{e['rows']:>12,}{e['seconds']:>9.2f}{1e6 * e['seconds'] / e['rows']:>8.2f}"
            f"{e['rss_mib']:>10.0f}  {c['rows']:>12,}{c['seconds']:>9.2f}{1e6 * c['seconds'] / c['rows']:>8.2f}"
            f"{c['rss_mib']:>10.0f}{c['longest_batch']:>14.3f}"
        )
    for what in ("export", "cleanup"):
        a, b = small[what], large[what]
        ratio = (b["seconds"] / b["rows"]) / (a["seconds"] / a["rows"])
        print(f"{what}: time per row at {factor}x / at base: {ratio:.2f} (goal <= 1.2)")
    longest = max(small["cleanup"]["longest_batch"], large["cleanup"]["longest_batch"])
    print(f"longest single delete transaction (batch of 1000 runs): {longest:.3f} s (goal < 1 s)")
    print()
    print_memory(
        [
            (f"export, base ({small['export']['rows']:,} rows)", small["export"]),
            (f"cleanup, base ({small['cleanup']['rows']:,} rows)", small["cleanup"]),
            (f"export, {factor}x ({large['export']['rows']:,} rows)", large["export"]),
            (f"cleanup, {factor}x ({large['cleanup']['rows']:,} rows)", large["cleanup"]),
        ]
    )


def run_sqlite(tmp: Path, runs: int, tasks: int, aws_env: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """The portable path's memory on SQLite: export and cleanup of the same history."""
    from sqlalchemy import create_engine

    from airflow_mwaa_extras.testing.airflow_home import create_airflow_home
    from airflow_mwaa_extras.testing.metadata_seed import seed_history

    home = create_airflow_home(tmp / "sqlite-home")
    try:
        engine = create_engine(home.sql_alchemy_conn)
        seed_history(engine, dags=40, runs_per_dag=runs // 40, tasks_per_run=tasks, now=NOW)
        engine.dispose()
        env = {**home.full_env(), **aws_env}
        export = run_child("ours_window", home.sql_alchemy_conn, env)
        cleanup = run_child("ours_cleanup", home.sql_alchemy_conn, env)
    finally:
        home.cleanup()
    return [
        (f"SQLite portable export ({export['rows']:,} rows)", export),
        (f"SQLite cleanup ({sum(cleanup['deleted'].values()):,} rows)", cleanup),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--extra", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--pg-dsn", default=os.environ.get("MWAA_EXTRAS_TEST_PG_DSN"))
    parser.add_argument("--runs", type=int, default=40_000, help="DAG runs (default 40,000)")
    parser.add_argument("--tasks", type=int, default=5, help="task instances per run (default 5)")
    parser.add_argument(
        "--skip-guide", action="store_true", help="skip the guide's (slow, memory-hungry) approach"
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=0,
        metavar="FACTOR",
        help="scale mode: measure export and cleanup at the seeded size and at FACTOR times it",
    )
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.url, json.loads(args.extra))))
        return 0
    if not args.pg_dsn:
        raise SystemExit("set MWAA_EXTRAS_TEST_PG_DSN or --pg-dsn to a PostgreSQL server")

    from sqlalchemy import create_engine

    from airflow_mwaa_extras.testing.airflow_home import create_airflow_home
    from airflow_mwaa_extras.testing.local_aws import start_local_aws
    from airflow_mwaa_extras.testing.metadata_seed import seed_history

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    tmp = Path(tempfile.mkdtemp(prefix="bench-metadata-"))
    home = create_airflow_home(tmp / "home", pg_dsn=args.pg_dsn)
    aws = start_local_aws()
    clones: list[str] = []
    try:
        dags = 40
        engine = create_engine(home.sql_alchemy_conn)
        t0 = time.perf_counter()
        summary = seed_history(
            engine, dags=dags, runs_per_dag=args.runs // dags, tasks_per_run=args.tasks, now=NOW
        )
        engine.dispose()
        print(
            f"seeded {summary.dag_runs} runs, {summary.task_instances} task instances, {summary.logs} log rows "
            f"in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        aws.client("s3").create_bucket(Bucket="bench")
        env = {**home.full_env(), **aws.env}
        url = home.sql_alchemy_conn
        if args.scale:
            run_scale(home, env, args.pg_dsn, args.scale, aws.client("s3"))
            return 0
        total = summary.dag_runs + summary.task_instances
        res: dict[str, dict[str, Any]] = {}
        res["ours"] = run_child("ours_copy", url, env)
        res["portable"] = run_child("ours_portable", url, env)
        if not args.skip_guide:
            res["guide"] = run_child("guide", url, env)
        quarter = (NOW - timedelta(days=180) + timedelta(days=45)).isoformat()
        res["ti_50k"] = run_child("ours_window", url, env, tables=["task_instance"], older_than=quarter)
        res["ti_all"] = run_child("ours_window", url, env, tables=["task_instance"])
        # psql \copy of the same rows (dag_run, task_instance), output discarded.
        psql_dsn = url.replace("postgresql+psycopg2://", "postgresql://")
        t0 = time.perf_counter()
        for table in ("dag_run", "task_instance"):
            subprocess.run(
                [
                    "psql",
                    psql_dsn,
                    "-q",
                    "-c",
                    f"\\copy (SELECT * FROM {table} ORDER BY 1) to stdout with csv header",
                ],
                stdout=subprocess.DEVNULL,
                check=True,
            )
        psql_seconds = time.perf_counter() - t0
        # The same, for the exact SELECT we send (timestamps as ISO-8601 UTC, binary as base64):
        # what the server alone needs to produce our format.
        t0 = time.perf_counter()
        for query in our_queries(url, ("dag_run", "task_instance")):
            subprocess.run(
                ["psql", psql_dsn, "-q", "-c", f"\\copy ({query}) to stdout with csv"],
                stdout=subprocess.DEVNULL,
                check=True,
            )
        psql_ours_seconds = time.perf_counter() - t0
        # Cleanup on identical copies.
        assert home.pg_database
        ours_db = pg_clone(args.pg_dsn, home.pg_database)
        core_db = pg_clone(args.pg_dsn, home.pg_database)
        clones += [ours_db, core_db]
        base = url.rsplit("/", 1)[0]
        res["cleanup"] = run_child("ours_cleanup", f"{base}/{ours_db}", env)
        cutoff = (NOW - timedelta(days=RETENTION_DAYS)).isoformat()
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "airflow",
                "db",
                "clean",
                "--clean-before-timestamp",
                cutoff,
                "--skip-archive",
                "--yes",
                "--tables",
                "dag_run,task_instance,task_fail,log",
            ],
            env={**env, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"{base}/{core_db}"},
            check=True,
            capture_output=True,
        )
        core_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import airflow.utils.db_cleanup"],
            env={**env},
            check=True,
            capture_output=True,
        )
        core_start = time.perf_counter() - t0
        sqlite_memory = run_sqlite(tmp, args.runs, args.tasks, aws.env)
    finally:
        for name in clones:
            pg_drop(args.pg_dsn, name)
        aws.stop()
        home.cleanup()

    ours = res["ours"]
    print()
    print(
        f"Export of dag_run + task_instance ({total:,} rows) to S3 (moto), PostgreSQL, each in its own process"
    )
    print(f"{'approach':<44}{'seconds':>9}{'rows/s':>11}{'peak RSS MiB':>14}")
    rows_list = [
        ("ours: COPY ... TO STDOUT + multipart", res["ours"]),
        ("ours: portable SQLAlchemy streaming", res["portable"]),
    ]
    if "guide" in res:
        rows_list.append(("guide: query().all() + DictWriter(vars())", res["guide"]))
    for label, r in rows_list:
        print(f"{label:<44}{r['seconds']:>9.2f}{r['rows'] / r['seconds']:>11,.0f}{r['rss_mib']:>14.0f}")
    print()
    if "guide" in res:
        g = res["guide"]
        print(
            f"throughput ours / guide: {g['seconds'] / ours['seconds']:.1f}x; peak RSS guide / ours: "
            f"{g['rss_mib'] / ours['rss_mib']:.1f}x"
        )
    print(f"throughput ours (COPY) / portable: {res['portable']['seconds'] / ours['seconds']:.1f}x")
    print(
        f"peak RSS ours, {res['ti_50k']['rows']:,} vs {res['ti_all']['rows']:,} task instances: "
        f"{res['ti_50k']['rss_mib']:.0f} vs {res['ti_all']['rss_mib']:.0f} MiB "
        f"(difference {res['ti_all']['rss_mib'] - res['ti_50k']['rss_mib']:+.0f} MiB; goal within 30 MB)"
    )
    print(
        f"export time in-process ours {ours['seconds']:.2f} s vs psql \\copy of the same rows {psql_seconds:.2f} s: "
        f"{ours['seconds'] / psql_seconds:.2f}x (goal within 1.5x)"
    )
    print(
        f"  psql \\copy of our own SELECT (ISO-8601 UTC timestamps, base64 binary) {psql_ours_seconds:.2f} s: "
        f"ours / that {ours['seconds'] / psql_ours_seconds:.2f}x; the server's formatting alone costs "
        f"{psql_ours_seconds / psql_seconds:.2f}x plain \\copy"
    )
    c = res["cleanup"]
    print(
        f"cleanup (retention {RETENTION_DAYS} d): ours with archive + verify {c['wall']:.2f} s wall "
        f"({c['seconds']:.2f} s in-process, deleted {c['deleted']}) vs airflow db clean --skip-archive "
        f"{core_seconds:.2f} s wall (of which {core_start:.2f} s importing Airflow): "
        f"{c['wall'] / core_seconds:.2f}x (goal within 1.5x)"
    )
    print(f"longest delete transaction (batch of 1000 runs): {c['longest_batch']:.3f} s (goal < 1 s)")
    print()
    memory = [
        ("PostgreSQL export, COPY", res["ours"]),
        ("PostgreSQL export, portable", res["portable"]),
        (f"PostgreSQL export, {res['ti_50k']['rows']:,} task instances", res["ti_50k"]),
        (f"PostgreSQL export, {res['ti_all']['rows']:,} task instances", res["ti_all"]),
        ("PostgreSQL cleanup (archive + verify + delete)", c),
        *sqlite_memory,
    ]
    print_memory(memory)
    return 0 if all(memory_line(label, r)[1] for label, r in memory) else 1


if __name__ == "__main__":
    sys.exit(main())
