"""``mwaa-extras metadata export``: stream metadata tables from a database you can reach to S3.

For a self-managed Airflow, a copy of an MWAA metadata DB, or a laptop with a tunnel: the same
streaming export the operator runs on Airflow 2 (``COPY`` on PostgreSQL). Inside an Airflow 3
environment use the operator, which goes through the REST API.
"""

from __future__ import annotations

import argparse
import os
from datetime import timedelta
from typing import Any

from airflow_mwaa_extras.cli._commands import add_command
from airflow_mwaa_extras.exceptions import UsageError

__all__ = ["register", "run_export"]


def register(subparsers: Any) -> None:
    parser = add_command(subparsers, "metadata", "export the Airflow metadata DB to S3")
    sub = parser.add_subparsers(dest="metadata_command", metavar="SUBCOMMAND", required=True)
    export = add_command(sub, "export", "stream tables to S3 (multipart) with a manifest")
    export.add_argument("--bucket", required=True, help="the S3 bucket")
    export.add_argument(
        "--sql-alchemy-conn",
        default=None,
        help="database URL (default: $AIRFLOW__DATABASE__SQL_ALCHEMY_CONN)",
    )
    export.add_argument(
        "--tables", default=None, help="comma-separated (default: dag_run,task_instance,task_fail,log)"
    )
    export.add_argument("--older-than-days", type=int, default=None, help="rows older than N days")
    export.add_argument("--newer-than-days", type=int, default=None, help="rows newer than N days")
    export.add_argument("--format", dest="fmt", choices=("csv", "jsonl"), default="csv")
    export.add_argument("--gzip", action="store_true", help="gzip each object")
    export.add_argument(
        "--key-template",
        default=None,
        help="object key: {table} {attempt} (both required) {date} {run_id} {ext}",
    )
    export.add_argument(
        "--manifest-key-template", default=None, help="manifest key, same placeholders ({attempt} required)"
    )
    export.add_argument("--run-id", default=None, help="names this export in keys")
    export.add_argument("--method", choices=("auto", "copy", "portable"), default="auto")
    export.add_argument("--endpoint-url", default=None, help="S3 endpoint (default: boto3's)")
    export.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError, OperationalError

    from airflow_mwaa_extras.metadata.export import ExportSettings, export_metadata
    from airflow_mwaa_extras.metadata.manifest import (
        DEFAULT_KEY_TEMPLATE,
        DEFAULT_MANIFEST_TEMPLATE,
        utc_now,
    )

    url = args.sql_alchemy_conn or os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    if not url:
        raise UsageError("give --sql-alchemy-conn or set AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    for name in ("older_than_days", "newer_than_days"):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 0")
    now = utc_now()
    settings = ExportSettings(
        bucket=args.bucket,
        fmt=args.fmt,
        gzip=args.gzip,
        key_template=args.key_template or DEFAULT_KEY_TEMPLATE,
        manifest_key_template=args.manifest_key_template or DEFAULT_MANIFEST_TEMPLATE,
        run_id=args.run_id,
        method=args.method,
    ).validated()
    tables = [t.strip() for t in args.tables.split(",") if t.strip()] if args.tables else None
    try:
        engine = create_engine(url)
    except (ArgumentError, ImportError) as err:
        raise UsageError(f"cannot use the database URL: {err}") from None
    import boto3

    s3 = boto3.client("s3", endpoint_url=args.endpoint_url) if args.endpoint_url else boto3.client("s3")
    try:
        result = export_metadata(
            engine,
            s3,
            settings,
            tables=tables,
            older_than=now - timedelta(days=args.older_than_days)
            if args.older_than_days is not None
            else None,
            newer_than=now - timedelta(days=args.newer_than_days)
            if args.newer_than_days is not None
            else None,
        )
    except OperationalError as err:
        raise UsageError(f"cannot read the database: {str(err.orig).strip().splitlines()[0]}") from None
    finally:
        engine.dispose()
    for obj in result.manifest.objects:
        print(f"{obj.table}\t{obj.rows} rows\t{obj.bytes} bytes\ts3://{settings.bucket}/{obj.key}")
    print(f"manifest\ts3://{settings.bucket}/{result.manifest_key}")
    return 0
