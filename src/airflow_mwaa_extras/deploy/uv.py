"""Where uv is: the one locator for every command that resolves or installs for MWAA."""

from __future__ import annotations

import os
import shutil
import site
import sys
from pathlib import Path

from airflow_mwaa_extras.exceptions import UsageError

__all__ = ["find_uv", "require_uv"]


def find_uv() -> str | None:
    """uv from ``MWAA_EXTRAS_UV``, on PATH, beside this interpreter, from the ``uv`` Python
    package, or where uv's installers and ``pip install --user uv`` put it; None when none is."""
    if env := os.environ.get("MWAA_EXTRAS_UV"):
        return env
    found = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if found:
        return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,unused-ignore]

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    # A venv made by uv has no uv in it: look where ./dev and uv's installers put it.
    folders = (
        Path(site.getuserbase(), "bin"),
        Path(sys.base_prefix, "bin"),
        Path.home() / ".local" / "bin",
        Path.home() / ".cargo" / "bin",
    )
    for folder in folders:
        found = shutil.which("uv", path=str(folder))
        if found:
            return found
    return None


def require_uv(purpose: str) -> str:
    """:func:`find_uv`, or one line saying how to get uv."""
    found = find_uv()
    if found is None:
        raise UsageError(f"{purpose} needs uv (pip install uv), or set MWAA_EXTRAS_UV to its path")
    return found
