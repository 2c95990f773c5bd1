"""``mwaa-extras local test``: run an MWAA project the way MWAA would, on this machine, without Docker."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from airflow_mwaa_extras.cli._commands import add_command

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "local",
        """test an MWAA project locally, in MWAA's environment (no Docker)
        Build (or reuse) the environment MWAA's image would run a project in, and run the project
        there.
        """,
    )
    sub = parser.add_subparsers(dest="local_command", metavar="ACTION", required=True)
    test = add_command(
        sub,
        "test",
        """install, start and parse the project as MWAA would; run the named DAGs
        MWAA's base install under the version's constraints plus requirements.txt with MWAA's rules
        (cached under ~/.cache/airflow-mwaa-extras/local), plugins.zip unpacked,
        airflow_configuration_options.json applied, startup.sh run, every DAG parsed, and each
        DAG_ID run as 'airflow dags test' runs it, on a throw-away SQLite metadata DB. Exits 1 on
        any error.
        """,
    )
    test.add_argument("project", type=Path, metavar="PROJECT")
    test.add_argument(
        "dag_ids", nargs="*", metavar="DAG_ID", help="DAGs to run as airflow dags test runs them"
    )
    test.add_argument("--airflow-version", required=True, help="the environment's MWAA Airflow version")
    test.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter for the environment (default: this one; MWAA runs 3.11 for 2.x, 3.12 for 3.x)",
    )
    test.add_argument("--format", choices=("text", "json"), default="text")
    test.set_defaults(func=_test, extra_positionals="dag_ids")

    up = add_command(
        sub,
        "up",
        """the same environment plus a scheduler and the web UI on 127.0.0.1
        Prepare the project as 'local test' does, then run Airflow's scheduler (and DAG processor on
        Airflow 3) and web server / API server on 127.0.0.1 with a throw-away SQLite metadata DB.
        Prints the URL; Ctrl-C stops everything.
        """,
    )
    up.add_argument("project", type=Path, metavar="PROJECT")
    up.add_argument("--airflow-version", required=True, help="the environment's MWAA Airflow version")
    up.add_argument("--port", type=int, default=8080, help="web server port on 127.0.0.1 (default 8080)")
    up.add_argument("--python", default=sys.executable, help="interpreter for the environment")
    up.add_argument(
        "--pg-dsn",
        metavar="DSN",
        help="postgresql://user@host:port/db: put the metadata DB in a new database on this server "
        "(dropped on exit) instead of SQLite; LocalExecutor on Airflow 2",
    )
    up.set_defaults(func=_up)


def _options(args: argparse.Namespace, dag_ids: tuple[str, ...] = ()) -> Any:
    from airflow_mwaa_extras.deploy.local_test import LocalOptions
    from airflow_mwaa_extras.deploy.mwaa_data import default_airflow_version

    return LocalOptions(
        airflow_version=default_airflow_version(args.airflow_version), dag_ids=dag_ids, python=args.python
    )


def _up(args: argparse.Namespace) -> int:
    import tempfile

    from airflow_mwaa_extras.deploy import local_up
    from airflow_mwaa_extras.deploy.local_test import forget_run_bytecode, parse_and_test, prepare
    from airflow_mwaa_extras.deploy.report import Report
    from airflow_mwaa_extras.exceptions import UsageError

    if not 0 < args.port < 65535:
        raise UsageError(f"--port {args.port} is not a TCP port")
    if args.pg_dsn and not args.pg_dsn.startswith(("postgresql://", "postgres://")):
        raise UsageError("--pg-dsn must be a postgresql:// URL")
    report = Report()
    options = _options(args)
    with tempfile.TemporaryDirectory(prefix="mwaa-extras-local-up-") as tmp:
        prepared = prepare(args.project, options, report, Path(tmp))
        if prepared is None:
            print(report.to_text(), flush=True)
            return 1
        try:
            if not report.has_errors:
                parse_and_test(prepared, args.project, options, report)
            print(report.to_text(), flush=True)
            return 1 if report.has_errors else local_up.serve(prepared, args.port, args.pg_dsn)
        finally:
            forget_run_bytecode(prepared)


def _test(args: argparse.Namespace) -> int:
    from airflow_mwaa_extras.deploy.local_test import run_local_test

    report = run_local_test(args.project, _options(args, tuple(args.dag_ids)))
    print(report.render(args.format))
    return report.exit_code
