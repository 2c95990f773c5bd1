"""``mwaa-extras wheels build|base``: wheels in plugins.zip for MWAA environments without internet."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from airflow_mwaa_extras.cli._commands import add_command

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "wheels",
        """wheels in plugins.zip for private-network environments
        Build the wheels an MWAA environment without internet access needs.
        """,
    )
    sub = parser.add_subparsers(dest="wheels_command", metavar="ACTION", required=True)
    build = add_command(
        sub,
        "build",
        """resolve, download and zip the wheels MWAA lacks, and write the matching requirements.txt
        Resolve REQUIREMENTS_TXT with MWAA's base install under the version's constraints for MWAA's
        platform (Linux x86_64 manylinux, the version's CPython), download wheels only for what
        MWAA's image lacks, zip them (with --plugins DIR) reproducibly, and write a requirements.txt
        with --find-links /usr/local/airflow/plugins and --no-index. Needs uv.
        """,
    )
    build.add_argument("requirements", type=Path, metavar="REQUIREMENTS_TXT")
    build.add_argument("--airflow-version", required=True, help="the environment's MWAA Airflow version")
    build.add_argument("-o", "--output", type=Path, default=Path("plugins.zip"), help="default: plugins.zip")
    build.add_argument(
        "--plugins", type=Path, metavar="DIR", help="the plugins folder to zip with the wheels"
    )
    build.add_argument(
        "--requirements-out",
        type=Path,
        metavar="FILE",
        help="where to write the requirements.txt for MWAA (default: requirements.txt beside the zip)",
    )
    build.add_argument(
        "--self",
        dest="include_self",
        action="store_true",
        help="add airflow-mwaa-extras as its own wheel, built from this source checkout",
    )
    build.add_argument(
        "--find-links", type=Path, action="append", default=[], metavar="DIR", help="local wheels to use"
    )
    build.add_argument(
        "--keep-base",
        action="store_true",
        help="also add wheels MWAA's image already has (only to compare sizes)",
    )
    build.add_argument("--timeout", type=float, default=600.0, help="resolver time limit in seconds")
    build.set_defaults(func=_build)

    base = add_command(
        sub,
        "base",
        """list what MWAA's image installs before requirements.txt
        Print MWAA's base install for a version as shipped with this package; --refresh resolves it
        again with uv (needs PyPI) and --write also updates the shipped file.
        """,
    )
    base.add_argument("--airflow-version", required=True)
    base.add_argument("--refresh", action="store_true", help="resolve again with uv")
    base.add_argument("--write", action="store_true", help="with --refresh: update the shipped list")
    base.set_defaults(func=_base)


def _build(args: argparse.Namespace) -> int:
    from airflow_mwaa_extras.deploy.wheels import build_wheels_zip

    result = build_wheels_zip(
        args.requirements,
        args.airflow_version,
        args.output,
        plugins_dir=args.plugins,
        requirements_out=args.requirements_out,
        include_self=args.include_self,
        find_links=args.find_links,
        leave_out_base=not args.keep_base,
        timeout=args.timeout,
    )
    print(f"wheels added ({len(result.added)}):")
    for pkg, wheel, size in result.added:
        print(f"  {pkg.name}=={pkg.version}  {wheel.filename}  {size / 1024:.0f} KiB")
    if result.left_out:
        names = ", ".join(f"{name}=={version}" for name, version in result.left_out)
        print(f"left out, MWAA {args.airflow_version}'s image has them ({len(result.left_out)}): {names}")
    print(f"wrote {result.zip_path}: {result.zip_size / 1024**2:.2f} MiB ({result.zip_size} bytes)")
    print(f"wrote {result.requirements_path} (--find-links /usr/local/airflow/plugins, --no-index)")
    print(f"took {result.seconds:.1f} s")
    return 0


def _base(args: argparse.Namespace) -> int:
    from airflow_mwaa_extras.deploy import mwaa_data, mwaa_platform
    from airflow_mwaa_extras.deploy.wheel_lock import render_base
    from airflow_mwaa_extras.exceptions import UsageError

    if args.write and not args.refresh:
        raise UsageError("--write needs --refresh")
    if not args.refresh:
        for name, version in sorted(mwaa_platform.mwaa_base(args.airflow_version).items()):
            print(f"{name}=={version}")
        return 0
    text = render_base(args.airflow_version)
    if args.write:
        path = mwaa_data.constraints_file(args.airflow_version, mwaa_platform.BASE_RESOLVED)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    else:
        print(text, end="")
    return 0
