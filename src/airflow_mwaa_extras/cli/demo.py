"""``mwaa-extras demo``: run the example DAGs end to end on a local Airflow and AWS stand-in."""

from __future__ import annotations

import argparse
from typing import Any

from airflow_mwaa_extras.cli._commands import add_command

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "demo",
        """run the example DAGs end to end locally (SQLite metadata DB, moto, MWAA stand-in)
        Start a local Airflow (SQLite) and local AWS stand-ins on 127.0.0.1, run every demo step,
        print what each did, and clean up.
        """,
    )
    parser.add_argument(
        "--only", action="append", default=[], metavar="STEP", help="run only this step (repeatable)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder for inspection")
    parser.add_argument("--list", action="store_true", help="list the steps and exit")
    parser.add_argument(
        "--verbose", action="store_true", help="also print the local AWS server's request log"
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from airflow_mwaa_extras.demo.runner import discover_steps, run_demo

    if args.list:
        for step in discover_steps():
            opt_in = " (opt-in: run it with --only)" if getattr(step, "OPT_IN", False) else ""
            print(f"{step.__name__.rsplit('.', 1)[-1]}: {step.TITLE}{opt_in}")
        return 0
    return run_demo(only=args.only, keep=args.keep, verbose=args.verbose)
