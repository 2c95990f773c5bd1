"""``mwaa-extras doctor DIR``: every deployment check over a local MWAA project folder."""

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
        "doctor",
        """check an MWAA project folder before deploying it
        Check dags/ (import errors, duplicate DAG ids, queue settings; parsed in a subprocess with
        the project's Airflow), plugins/ or plugins.zip, requirements.txt, startup.sh and
        airflow_configuration_options.json. Exits 1 when any error is found.
        """,
    )
    parser.add_argument("directory", type=Path, metavar="DIR")
    parser.add_argument("--airflow-version", help="MWAA Airflow version (default: the installed Airflow)")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter with the project's Airflow, used to parse dags/ (default: this one)",
    )
    parser.add_argument(
        "--resolve", action="store_true", help="also dry-run the resolver on requirements.txt"
    )
    parser.add_argument("--no-dags", action="store_true", help="do not parse the DAG folder")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for the DAG parse / resolver")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=_doctor)


def _refuse_unsupported(version: str | None) -> None:
    """Say up front, in one line, that ``version`` (given, else the installed Airflow) is older
    than the oldest Airflow this package supports, before any check runs."""
    from packaging.version import InvalidVersion

    from airflow_mwaa_extras import version_compat
    from airflow_mwaa_extras.deploy.mwaa_data import supported_versions
    from airflow_mwaa_extras.exceptions import UsageError

    try:
        reason = version_compat.unsupported_reason(version or str(version_compat.AIRFLOW_VERSION or "9"))
    except InvalidVersion:
        return  # not a version at all: the usual "unknown MWAA Airflow version" line follows
    if reason is not None:
        raise UsageError(
            f"{reason}: there its plugins register nothing and its operators do not import "
            f"(MWAA versions checked here: {', '.join(supported_versions())})"
        )


def _doctor(args: argparse.Namespace) -> int:
    from airflow_mwaa_extras.deploy.doctor import DoctorOptions, run_doctor
    from airflow_mwaa_extras.deploy.mwaa_data import default_airflow_version

    _refuse_unsupported(args.airflow_version)
    options = DoctorOptions(
        airflow_version=default_airflow_version(args.airflow_version),
        python=args.python,
        resolve=args.resolve,
        parse_dags=not args.no_dags,
        timeout=args.timeout,
    )
    report = run_doctor(args.directory, options)
    print(report.render(args.format))
    return report.exit_code
