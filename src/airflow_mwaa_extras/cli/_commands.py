"""How a subcommand is declared: one text says what it does, as a docstring would."""

from __future__ import annotations

import argparse
import inspect
from typing import Any

__all__ = ["add_command"]


def add_command(subparsers: Any, name: str, about: str, **kwargs: Any) -> argparse.ArgumentParser:
    """Add the subcommand ``name``. ``about``'s first line is the one-line ``help`` its parent's
    list shows; the rest (or the first line, when there is no rest) is its ``--help`` description.
    """
    summary, _, description = inspect.cleandoc(about).partition("\n")
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=summary, description=description.strip() or summary, **kwargs
    )
    return parser
