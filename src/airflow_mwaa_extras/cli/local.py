"""``mwaa-extras local test``: run an MWAA project the way MWAA would, on this machine, without Docker."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "local",
        help="test an MWAA project locally, in MWAA's environment (no Docker)",
        description="Build (or reuse) the environment MWAA's image would run a project in, and run the project there.",
    )
    sub = parser.add_subparsers(dest="local_command", metavar="ACTION", required=True)
    test = sub.add_parser(
        "test",
        help="install, start and parse the project as MWAA would; run the named DAGs",
        description="MWAA's base install under the version's constraints plus requirements.txt with "
        "MWAA's rules (cached under ~/.cache/airflow-mwaa-extras/local), plugins.zip unpacked, "
        "airflow_configuration_options.json applied, startup.sh run, every DAG parsed, and each "
        "DAG_ID run with 'airflow dags test' on a throw-away SQLite metadata DB. Exits 1 on any error.",
    )
    test.add_argument("project", type=Path, metavar="PROJECT")
    test.add_argument("dag_ids", nargs="*", metavar="DAG_ID", help="DAGs to run with airflow dags test")
    test.add_argument("--airflow-version", required=True, help="the environment's MWAA Airflow version")
    test.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter for the environment (default: this one; MWAA runs 3.11 for 2.x, 3.12 for 3.x)",
    )
    test.add_argument("--format", choices=("text", "json"), default="text")
    test.set_defaults(func=_test, extra_positionals="dag_ids")


def _test(args: argparse.Namespace) -> int:
    from airflow_mwaa_extras.deploy.local_test import LocalOptions, run_local_test
    from airflow_mwaa_extras.deploy.requirements import default_airflow_version

    options = LocalOptions(
        airflow_version=default_airflow_version(args.airflow_version),
        dag_ids=tuple(args.dag_ids),
        python=args.python,
    )
    report = run_local_test(args.project, options)
    print(report.render(args.format))
    return report.exit_code
