"""``mwaa-extras startup-script codeartifact|env``: print MWAA startup scripts (POSIX sh)."""

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
        "startup-script",
        """generate an MWAA startup script
        Print a POSIX sh startup script (set -eu, no jq) for MWAA.
        """,
    )
    sub = parser.add_subparsers(dest="startup_command", metavar="KIND", required=True)

    ca = add_command(
        sub,
        "codeartifact",
        """point pip at an AWS CodeArtifact repository
        Get a CodeArtifact token and point pip at the repository before MWAA installs
        requirements.txt. The execution role needs codeartifact:GetAuthorizationToken and
        sts:GetServiceBearerToken.
        """,
    )
    ca.add_argument("--domain", required=True)
    ca.add_argument("--domain-owner", required=True, help="12-digit AWS account id owning the domain")
    ca.add_argument("--region", required=True)
    ca.add_argument("--repository", required=True)
    mode = ca.add_mutually_exclusive_group()
    mode.add_argument(
        "--index",
        dest="mode",
        action="store_const",
        const="index",
        help="CodeArtifact replaces PyPI (PIP_INDEX_URL; default)",
    )
    mode.add_argument(
        "--extra-index",
        dest="mode",
        action="store_const",
        const="extra-index",
        help="CodeArtifact beside PyPI (PIP_EXTRA_INDEX_URL)",
    )
    ca.add_argument("--duration-seconds", type=int, default=43200, help="token lifetime (900-43200)")
    ca.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    ca.set_defaults(func=_codeartifact, mode="index")

    env = add_command(
        sub,
        "env",
        """export environment variables (reserved ones are refused)
        Export NAME=VALUE pairs; --append NAME=VALUE adds to a ':'-separated list such as PATH or
        LD_LIBRARY_PATH. Variables MWAA reserves are refused.
        """,
    )
    env.add_argument("assignments", nargs="*", metavar="NAME=VALUE")
    env.add_argument("--append", action="append", default=[], metavar="NAME=VALUE")
    env.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    env.set_defaults(func=_env)


def _emit(text: str, output: Path | None) -> int:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    return 0


def _codeartifact(args: argparse.Namespace) -> int:
    from airflow_mwaa_extras.deploy.startup_script import codeartifact_script

    text = codeartifact_script(
        domain=args.domain,
        domain_owner=args.domain_owner,
        region=args.region,
        repository=args.repository,
        mode=args.mode,
        duration_seconds=args.duration_seconds,
    )
    return _emit(text, args.output)


def _env(args: argparse.Namespace) -> int:
    from airflow_mwaa_extras.deploy.startup_script import env_script, parse_assignments

    text = env_script(parse_assignments(args.assignments), append=parse_assignments(args.append))
    return _emit(text, args.output)
