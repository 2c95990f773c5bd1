"""``mwaa-extras secrets``: move connections and variables into Secrets Manager, configure the backend.

- ``secrets migrate``: from the local metadata DB or from ``airflow connections export`` /
  ``airflow variables export`` files into Secrets Manager; idempotent, ``--dry-run`` prints a
  diff of secret names. Values are never printed.
- ``secrets config``: the ``secrets.backend`` / ``secrets.backend_kwargs`` options for MWAA,
  checked (patterns compile, the amazon provider supports them), and which names a lookup
  pattern sends to Secrets Manager.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError

if TYPE_CHECKING:
    from airflow_mwaa_extras.secrets.backend_config import BackendConfig
    from airflow_mwaa_extras.secrets.sources import SourceConnection, SourceVariable

from airflow_mwaa_extras.cli._commands import add_command

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "secrets",
        """move connections and variables into AWS Secrets Manager; configure the backend
        Secrets Manager helpers for MWAA: migrate connections and variables, and print the secrets
        backend configuration.
        """,
    )
    sub = parser.add_subparsers(dest="secrets_command", metavar="SUBCOMMAND", required=True)

    migrate = add_command(
        sub,
        "migrate",
        """copy connections and variables into Secrets Manager (create or update, idempotent)
        Copy connections and variables from the local Airflow metadata DB (the default) or from
        export files into Secrets Manager under the backend's prefixes. Values are never printed.
        """,
    )
    _add_source_arguments(migrate)
    _add_prefix_arguments(migrate)
    migrate.add_argument(
        "--format",
        dest="connection_format",
        choices=("json", "uri"),
        default="json",
        help="how connections are stored: json (lossless, default) or uri",
    )
    migrate.add_argument(
        "--on-existing",
        choices=("update", "skip", "error"),
        default="update",
        help="existing secrets: update when different (default), skip, or error before writing anything",
    )
    migrate.add_argument("--kms-key-id", help="KMS key (ARN, id or alias) for the secrets")
    migrate.add_argument(
        "--tag", action="append", default=[], metavar="KEY=VALUE", help="tag every secret (repeatable)"
    )
    migrate.add_argument(
        "--include-aws-default",
        action="store_true",
        help="migrate aws_default too (MWAA relies on its own; skipped by default)",
    )
    migrate.add_argument(
        "--dry-run", action="store_true", help="print the plan (secret names only), write nothing"
    )
    migrate.add_argument("--show-unchanged", action="store_true", help="list unchanged secrets too")
    migrate.add_argument("--workers", type=int, default=4, help="parallel writers (default 4)")
    migrate.add_argument("--quiet", action="store_true", help="no progress lines")
    _add_aws_arguments(migrate)
    migrate.set_defaults(func=_migrate)

    config = add_command(
        sub,
        "config",
        """print the secrets.backend options for MWAA and check them
        Print the MWAA configuration options for the amazon provider's SecretsManagerBackend, check
        that lookup patterns compile and that the amazon provider supports them, and (with a source)
        show which connection and variable names the patterns send to Secrets Manager.
        """,
    )
    _add_prefix_arguments(config)
    config.add_argument("--connections-lookup-pattern", help="regex a conn id must match to be looked up")
    config.add_argument("--variables-lookup-pattern", help="regex a variable key must match to be looked up")
    config.add_argument(
        "--backend-kwargs", metavar="JSON", help="check an existing secrets.backend_kwargs value instead"
    )
    target = config.add_mutually_exclusive_group()
    target.add_argument(
        "--mwaa-version", help="check against the amazon provider MWAA installs for this Airflow version"
    )
    target.add_argument(
        "--provider-version", help="check against this apache-airflow-providers-amazon version"
    )
    config.add_argument("--output", choices=("text", "json", "env"), default="text", help="output format")
    config.add_argument(
        "--check-names",
        action="store_true",
        help="show which of your names the patterns route (needs a source)",
    )
    _add_source_arguments(config)
    config.set_defaults(func=_config)


def _add_source_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("source (default: the local metadata DB of $AIRFLOW_HOME)")
    group.add_argument(
        "--connections-file", help="a file from `airflow connections export` (.json/.yaml/.env)"
    )
    group.add_argument("--variables-file", help="a file from `airflow variables export` (.json/.yaml/.env)")
    kinds = group.add_mutually_exclusive_group()
    kinds.add_argument("--connections-only", action="store_true", help="only connections")
    kinds.add_argument("--variables-only", action="store_true", help="only variables")


def _add_prefix_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connections-prefix", default="airflow/connections", help="default: %(default)s")
    parser.add_argument("--variables-prefix", default="airflow/variables", help="default: %(default)s")
    parser.add_argument("--sep", default="/", help="separator between prefix and name (default /)")


def _add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", help="AWS region (default: from the environment)")
    parser.add_argument("--endpoint-url", help="Secrets Manager endpoint (default: from the environment)")


def _backend_config(args: argparse.Namespace) -> BackendConfig:
    from airflow_mwaa_extras.secrets.backend_config import BackendConfig, config_from_kwargs

    if getattr(args, "backend_kwargs", None):
        return config_from_kwargs(args.backend_kwargs)
    config = BackendConfig(
        connections_prefix=args.connections_prefix,
        variables_prefix=args.variables_prefix,
        connections_lookup_pattern=getattr(args, "connections_lookup_pattern", None),
        variables_lookup_pattern=getattr(args, "variables_lookup_pattern", None),
        sep=args.sep,
    )
    config.patterns()
    return config


def _sources(args: argparse.Namespace) -> tuple[list[SourceConnection], list[SourceVariable]]:
    from airflow_mwaa_extras.secrets.sources import load_sources

    files = args.connections_file is not None or args.variables_file is not None
    return load_sources(
        from_db=not files,
        connections_file=args.connections_file,
        variables_file=args.variables_file,
        connections=not args.variables_only,
        variables=not args.connections_only,
    )


def _tags(pairs: list[str]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--tag expects KEY=VALUE, got {pair!r}")
        tags[key] = value
    return tags


def _client(args: argparse.Namespace) -> Any:
    import boto3
    from botocore.exceptions import BotoCoreError

    # Airflow's logging config (loaded when the source is the metadata DB) prints INFO on
    # stdout, where botocore's "Found credentials in ..." would land in the middle of the plan.
    logging.getLogger("botocore").setLevel(logging.WARNING)

    try:
        return boto3.client("secretsmanager", region_name=args.region, endpoint_url=args.endpoint_url)
    except BotoCoreError as err:
        raise MwaaExtrasError(f"cannot create a Secrets Manager client: {err}") from None


def _migrate(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from airflow_mwaa_extras.secrets.migrate import MigrationOptions, diff_lines, plan_migration, summary_line
    from airflow_mwaa_extras.secrets.migrate_apply import apply_plan, count_api_calls

    options = MigrationOptions(
        config=_backend_config(args),
        connection_format=args.connection_format,
        on_existing=args.on_existing,
        kms_key_id=args.kms_key_id,
        tags=_tags(args.tag),
        include_aws_default=args.include_aws_default,
        workers=args.workers,
    )
    connections, variables = _sources(args)
    client = _client(args)
    calls = count_api_calls(client)  # reads and writes
    try:
        plan = plan_migration(client, connections, variables, options)
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "ClientError")
        raise MwaaExtrasError(f"reading Secrets Manager failed: {code}") from None
    except BotoCoreError as err:
        raise MwaaExtrasError(f"reading Secrets Manager failed: {type(err).__name__}") from None
    for line in diff_lines(plan, show_unchanged=args.show_unchanged or args.dry_run):
        print(line)
    if args.dry_run:
        print(f"dry run: {summary_line(plan)}; nothing written")
        return 0 if plan.count("invalid") == 0 else 1

    step = max(1, len(plan.to_write()) // 20)

    def progress(done: int, total: int, failed: int) -> None:
        if not args.quiet and (done == total or done % step == 0):
            print(f"progress: {done - failed}/{total} written, {failed} failed", file=sys.stderr)

    result = apply_plan(client, plan, options, progress=progress)
    for name, code in result.failures:
        print(f"! {name} (failed: {code})")
    print(
        f"summary: {summary_line(plan)}; {result.written} written, {len(result.failures)} failed "
        f"in {result.seconds:.1f} s ({calls()} API calls)"
    )
    return 0 if result.ok else 1


def _config(args: argparse.Namespace) -> int:
    from packaging.version import InvalidVersion, Version

    from airflow_mwaa_extras.secrets.backend_config import (
        check_provider_support,
        installed_amazon_provider,
        mwaa_amazon_provider,
        unknown_kwargs,
    )

    config = _backend_config(args)
    if args.mwaa_version:
        provider: Version | None = mwaa_amazon_provider(args.mwaa_version)
        where = f"MWAA {args.mwaa_version}"
    elif args.provider_version:
        try:
            provider = Version(args.provider_version)
        except InvalidVersion:
            raise UsageError(f"--provider-version {args.provider_version!r} is not a version") from None
        where = "the given provider"
    else:
        provider = installed_amazon_provider()
        where = "installed"
    notes = check_provider_support(config, provider)
    if provider is not None:
        notes.append(f"{where}: apache-airflow-providers-amazon {provider}")
    if args.backend_kwargs:
        notes += [f"unknown backend_kwargs key {key!r}" for key in unknown_kwargs(args.backend_kwargs)]
    if args.check_names:
        notes += _routing_notes(args, config)

    options = config.options()
    if args.output == "json":
        print(json.dumps(options, indent=2))
    elif args.output == "env":
        for key, value in config.env().items():
            print(f"{key}={value}")
    else:
        for key, value in options.items():
            print(f"{key} = {value}")
    for note in notes:
        print(f"# {note}", file=sys.stderr if args.output != "text" else sys.stdout)
    return 0


def _routing_notes(args: argparse.Namespace, config: BackendConfig) -> list[str]:
    connections, variables = _sources(args)
    notes = []
    for kind, names in (
        ("connection", [conn.conn_id for conn in connections]),
        ("variable", [var.key for var in variables]),
    ):
        if not names:
            continue
        routed = [name for name in names if config.routes(kind, name)]
        missed = sorted(set(names) - set(routed))
        notes.append(f"{kind}s looked up in Secrets Manager: {len(routed)} of {len(names)}")
        if missed:
            shown = ", ".join(missed[:20]) + (f" and {len(missed) - 20} more" if len(missed) > 20 else "")
            notes.append(f"{kind}s the backend never asks Secrets Manager for: {shown}")
    return notes
