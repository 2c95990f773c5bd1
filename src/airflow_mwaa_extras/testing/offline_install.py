"""MWAA's offline install, played locally: a fresh environment with MWAA's base install, then
``pip install --no-index`` from an unpacked plugins.zip with no index reachable.

Used by the tests and the demo to prove what ``mwaa-extras wheels build`` writes installs on
MWAA. It needs this interpreter to be MWAA's CPython for the version (3.11 for 2.x, 3.12 for
3.x) and uv, which installs the base from its cache in seconds once warm.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

from airflow_mwaa_extras.deploy import mwaa_data, requirements
from airflow_mwaa_extras.deploy.local_env import BASE_CONSTRAINTS as _CONSTRAINTS
from airflow_mwaa_extras.deploy.local_env import mwaa_base_environment
from airflow_mwaa_extras.processes import run_captured

__all__ = ["OfflineInstall", "freeze", "install_offline", "mwaa_base_environment"]

UNREACHABLE_INDEX = "http://127.0.0.1:9/simple"  # the discard port: nothing answers


@dataclass(frozen=True)
class OfflineInstall:
    """What ``pip install --no-index`` did to the environment."""

    returncode: int
    output: str
    added: frozenset[str]  # name==version lines that appeared
    moved: frozenset[str]  # name==version lines of the base install that changed or went


def freeze(python: Path) -> frozenset[str]:
    proc = subprocess.run(
        [str(python), "-m", "pip", "freeze", "--all", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    )
    return frozenset(line for line in proc.stdout.splitlines() if "==" in line)


def install_offline(
    python: Path,
    plugins_zip: Path,
    requirements_txt: Path,
    airflow_version: str,
    workdir: Path,
    *,
    leave_out: tuple[str, ...] = (),
) -> OfflineInstall:
    """Unpack ``plugins_zip`` and install ``requirements_txt`` from it as MWAA does, offline.

    MWAA adds its image's constraints file when the requirements file has no constraint line,
    so this does too. ``leave_out`` drops wheels (glob patterns) from the unpacked folder.
    """
    folder = workdir / "usr-local-airflow-plugins"
    shutil.rmtree(folder, ignore_errors=True)
    with zipfile.ZipFile(plugins_zip) as zf:
        zf.extractall(folder)
    for pattern in leave_out:
        for path in folder.glob(pattern):
            path.unlink()
    before = freeze(python)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update({"PIP_INDEX_URL": UNREACHABLE_INDEX, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    cmd = [str(python), "-m", "pip", "install", "--no-index", "--find-links", str(folder)]
    cmd += ["-r", str(requirements_txt)]
    if not requirements.MWAA_CONSTRAINT_PATTERN.search(requirements_txt.read_text(encoding="utf-8")):
        for name in _CONSTRAINTS:
            cmd += ["-c", str(mwaa_data.constraints_file(airflow_version, name))]
    proc = run_captured(cmd, timeout=900, env=env)
    after = freeze(python)
    return OfflineInstall(proc.returncode, proc.stdout + proc.stderr, after - before, before - after)
