"""``mwaa-extras``: the command-line front end.

Each module in this package (not starting with ``_``) adds one subcommand group through a
``register(subparsers)`` function and sets ``func`` on its parsers. Modules here import no
Airflow, boto3 or other heavy package at load time, so ``--help`` stays instant and the CLI
works on a laptop or in CI without Airflow; subcommands import what they need when they run.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from airflow_mwaa_extras import __version__
from airflow_mwaa_extras.exceptions import MwaaExtrasError

PROG = "mwaa-extras"


def _subcommand_modules() -> list[str]:
    names = [info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")]
    return sorted(names)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Tools for Apache Airflow on Amazon MWAA: remote CLI, DAG triggers, metadata "
        "export, secrets, deployment checks and a local demo.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _subcommand_modules():
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # argparse stops filling a trailing `nargs="*"` positional at the first option, so
    # `local test PROJECT --airflow-version X DAG_ID` would leave DAG_ID over: such a
    # subcommand names the attribute that collects what is left.
    collect = getattr(args, "extra_positionals", None)
    if extra and collect and not any(item.startswith("-") for item in extra):
        setattr(args, collect, [*getattr(args, collect), *extra])
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except MwaaExtrasError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # python -m airflow_mwaa_extras.cli
    sys.exit(main())
