"""The one way this package runs a tool (uv, Airflow, a project's Python) and reads its output."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["run_captured"]


def run_captured(
    cmd: Sequence[str | Path],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` with its stdout and stderr captured as text; the caller judges the exit code.

    :raises subprocess.TimeoutExpired: after ``timeout`` seconds (the child is killed)
    """
    return subprocess.run(
        [str(part) for part in cmd],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env=None if env is None else dict(env),
        cwd=cwd,
    )
