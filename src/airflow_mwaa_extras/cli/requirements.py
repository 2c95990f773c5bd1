"""``mwaa-extras requirements check``: a requirements.txt against MWAA's constraints."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from airflow_mwaa_extras.cli._commands import add_command

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "requirements",
        """check a requirements.txt
        Check an MWAA requirements.txt.
        """,
    )
    sub = parser.add_subparsers(dest="requirements_command", metavar="ACTION", required=True)
    check = add_command(
        sub,
        "check",
        """check the constraint line, MWAA's essential pins, pins and index lines
        Check that the constraint line is present and matches the Airflow and Python versions, that
        MWAA's essential pins are not changed, that apache-airflow is pinned, and the private index
        lines. --resolve also asks a resolver (uv, or pip if chosen) to install the file under
        MWAA's constraints for MWAA's platform and Python, without installing anything.
        """,
    )
    check.add_argument("file", type=Path, metavar="REQUIREMENTS_TXT")
    check.add_argument("--airflow-version", help="MWAA Airflow version (default: the installed Airflow)")
    check.add_argument("--resolve", action="store_true", help="also run a resolver dry run (needs PyPI)")
    check.add_argument("--resolver", choices=("uv", "pip"), help="default: uv; pip considers wheels only")
    check.add_argument("--timeout", type=float, default=300.0, help="resolver time limit in seconds")
    check.add_argument(
        "--plugins-zip",
        type=Path,
        metavar="ZIP",
        help="with --no-index: the plugins.zip holding the wheels (default: plugins.zip beside the file)",
    )
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    from airflow_mwaa_extras.deploy import mwaa_data, offline, requirements
    from airflow_mwaa_extras.deploy.report import Report
    from airflow_mwaa_extras.exceptions import UsageError

    if not args.file.is_file():
        raise UsageError(f"requirements file not found: {args.file}")
    version = mwaa_data.default_airflow_version(args.airflow_version)
    text = args.file.read_text(encoding="utf-8")
    report = Report()
    report.ran("requirements")
    report.add(requirements.check_requirements(text, version, path=args.file.name))
    if offline.has_no_index(text):
        report.ran("requirements-offline")
        zip_path = args.plugins_zip or args.file.parent / "plugins.zip"
        report.add(offline.check_offline(text, version, zip_path, path=args.file.name))
    if args.resolve:
        report.ran("requirements-resolve")
        report.add(
            requirements.resolve(
                text, version, path=args.file.name, timeout=args.timeout, resolver=args.resolver
            )
        )
    print(report.render(args.format))
    return report.exit_code
