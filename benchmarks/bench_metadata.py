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
(``--runs`` / ``--tasks`` scale it down for a quick look).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
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


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- child processes -----------------------------------------------------------------------


def child(mode: str, url: str, extra: dict[str, Any]) -> dict[str, Any]:
    import boto3
    from sqlalchemy import create_engine

    s3 = boto3.client("s3")
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
            CleanupPolicy(retention_days=RETENTION_DAYS, keep_last_runs=1, batch_size=1000),
            s3_client=s3,
            archive=ExportSettings(bucket="bench", run_id="cleanup"),
            now=NOW,
        )
        return {"seconds": time.perf_counter() - start, "deleted": report.deleted, "rss_mib": peak_rss_mib()}
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
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.url, json.loads(args.extra))))
        return 0
    if not args.pg_dsn:
        raise SystemExit("set MWAA_EXTRAS_TEST_PG_DSN or --pg-dsn to a PostgreSQL server")

    from sqlalchemy import create_engine

    from airflow_mwaa_extras.metadata.seed import seed_history
    from airflow_mwaa_extras.testing.airflow_home import create_airflow_home
    from airflow_mwaa_extras.testing.local_aws import start_local_aws

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
        f"{ours['seconds'] / psql_seconds:.1f}x (goal within 3x)"
    )
    c = res["cleanup"]
    print(
        f"cleanup (retention {RETENTION_DAYS} d): ours with archive + verify {c['wall']:.2f} s wall "
        f"({c['seconds']:.2f} s in-process, deleted {c['deleted']}) vs airflow db clean --skip-archive "
        f"{core_seconds:.2f} s wall (of which {core_start:.2f} s importing Airflow): "
        f"{c['wall'] / core_seconds:.2f}x (goal within 1.5x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
