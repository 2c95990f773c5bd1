"""Airflow's own CLI argument parser, in-process, as the remote side would apply it."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Sequence


@functools.cache
def airflow_parser() -> argparse.ArgumentParser:
    from airflow.cli.cli_parser import get_parser

    return get_parser()


def parse_remote(argv: Sequence[str]) -> argparse.Namespace:
    """``airflow <argv>`` parsed by the installed Airflow (raises SystemExit on a usage error)."""
    return airflow_parser().parse_args(list(argv))
