"""``mwaa-extras plugins build|check``: a reproducible plugins.zip, and the checks MWAA does not do.

The command line only; the builder and the checks are :mod:`airflow_mwaa_extras.deploy.plugins_zip`.
The Airflow plugins this package registers are another thing: :mod:`airflow_mwaa_extras.plugins`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from airflow_mwaa_extras.cli._commands import add_command

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "plugins",
        """build or check a plugins.zip
        Build or check an MWAA plugins.zip.
        """,
    )
    sub = parser.add_subparsers(dest="plugins_command", metavar="ACTION", required=True)

    build = add_command(
        sub,
        "build",
        """zip a plugins folder the way MWAA expects it
        Zip the contents of DIR (no wrapping folder), 755 permissions stored, no byte code, fixed
        timestamps and order: the same input gives the same bytes.
        """,
    )
    build.add_argument("directory", type=Path, metavar="DIR", help="the plugins folder")
    build.add_argument("-o", "--output", type=Path, default=Path("plugins.zip"), help="default: plugins.zip")
    build.add_argument(
        "--vendor-self",
        action="store_true",
        help="copy airflow-mwaa-extras into the zip so it works without a requirements.txt line",
    )
    build.set_defaults(func=_build)

    check = add_command(
        sub,
        "check",
        """check a plugins.zip
        Check for a wrapping folder, permissions, size, Python files that do not compile, and
        imports that neither Airflow's constraints nor requirements.txt provide.
        """,
    )
    check.add_argument("zip", type=Path, metavar="PLUGINS_ZIP", help="the zip (or an unzipped folder)")
    check.add_argument("-r", "--requirements", type=Path, help="the requirements.txt deployed with it")
    check.add_argument("--airflow-version", help="MWAA Airflow version (default: the installed Airflow)")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.set_defaults(func=_check)


def _build(args: argparse.Namespace) -> int:
    from airflow_mwaa_extras.deploy.plugins_zip import build_plugins_zip

    result = build_plugins_zip(args.directory, args.output, vendor_self=args.vendor_self)
    extra = " (airflow-mwaa-extras vendored)" if result.vendored else ""
    print(f"wrote {result.path}: {result.entries} entries, {result.size} bytes{extra}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from airflow_mwaa_extras.deploy import mwaa_data
    from airflow_mwaa_extras.deploy.plugins_zip import check_plugins
    from airflow_mwaa_extras.deploy.report import Report
    from airflow_mwaa_extras.deploy.requirements_file import requirement_names
    from airflow_mwaa_extras.exceptions import UsageError

    version = mwaa_data.default_airflow_version(args.airflow_version)
    provided = set(mwaa_data.airflow_constraints(version)) | set(mwaa_data.essential_pins(version))
    if args.requirements is not None:
        if not args.requirements.is_file():
            raise UsageError(f"requirements file not found: {args.requirements}")
        provided |= requirement_names(args.requirements.read_text(encoding="utf-8"))
    report = Report()
    report.ran("plugins")
    report.add(check_plugins(args.zip, provided=provided))
    print(report.render(args.format))
    return report.exit_code
