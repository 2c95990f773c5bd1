"""A project folder laid out the way MWAA lays it out: plugins unpacked, configuration options as
``AIRFLOW__SECTION__KEY`` variables, and the startup script run with MWAA's semantics.

MWAA sources ``startup.sh`` in bash before it starts each component (with
``MWAA_AIRFLOW_COMPONENT`` set), stops it after 5 minutes, and hands the variables it exported
to Airflow, except the reserved ones, which it resets. Locally the script runs once, as the
scheduler; ``sudo`` runs its command and ``yum``/``dnf``/``rpm`` are skipped (this machine is
not Amazon Linux), each skip listed in the report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.processes import run_captured
from airflow_mwaa_extras.reserved_env_vars import RESERVED_ENV_VARS

STARTUP_TIMEOUT = 300.0  # MWAA stops a startup script after 5 minutes
COMPONENT = "scheduler"
_SKIPPED_COMMANDS = ("yum", "dnf", "rpm", "amazon-linux-extras")
_SUDO = '#!/bin/sh\nwhile [ $# -gt 0 ]; do case "$1" in -*) shift ;; *) break ;; esac; done\nexec "$@"\n'
_SKIP = '#!/bin/sh\necho "$(basename "$0") $*" >> "$MWAA_EXTRAS_SKIPPED"\n'


def unpack_plugins(project: Path, target: Path) -> Path | None:
    """Put the project's plugins into ``target`` as MWAA's /usr/local/airflow/plugins; None when
    the project has none. plugins.zip wins over plugins/ (the folder is what the zip is built from)."""
    shutil.rmtree(target, ignore_errors=True)
    zipped, folder = project / "plugins.zip", project / "plugins"
    if zipped.is_file():
        target.mkdir(parents=True)
        try:
            with zipfile.ZipFile(zipped) as zf:
                for name in zf.namelist():
                    if name.startswith("/") or ".." in PurePosixPath(name).parts:
                        raise UsageError(f"plugins.zip has an unsafe entry name: {name!r}")
                zf.extractall(target)
        except zipfile.BadZipFile as err:
            raise UsageError(f"plugins.zip is not a zip file: {err}") from err
        return target
    if folder.is_dir():
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        return target
    return None


def config_env(options: dict[str, str]) -> dict[str, str]:
    """``{"core.lazy_load_plugins": "False"}`` -> ``{"AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False"}``."""
    env: dict[str, str] = {}
    for key, value in options.items():
        section, sep, option = key.partition(".")
        if not sep or not section or not option:
            raise UsageError(f"configuration option {key!r} is not SECTION.KEY")
        env[f"AIRFLOW__{section.upper()}__{option.upper()}"] = value
    return env


@dataclass
class StartupResult:
    """What the startup script did."""

    exported: dict[str, str] = field(default_factory=dict)  # reaches Airflow
    reserved: list[str] = field(default_factory=list)  # set by the script, reset by MWAA
    skipped: list[str] = field(default_factory=list)  # yum/dnf commands not run here
    returncode: int = 0
    output: str = ""
    timed_out: bool = False


def run_startup_script(
    script: Path, env: dict[str, str], workdir: Path, *, timeout: float = STARTUP_TIMEOUT
) -> StartupResult:
    """Source ``script`` in bash with ``env`` and return the variables it exported."""
    shims = workdir / "startup-shims"
    shims.mkdir(parents=True, exist_ok=True)
    (shims / "sudo").write_text(_SUDO)
    for name in _SKIPPED_COMMANDS:
        (shims / name).write_text(_SKIP)
    for shim in shims.iterdir():
        shim.chmod(0o755)
    skipped_log, env_dump = workdir / "startup-skipped.txt", workdir / "startup-env"
    skipped_log.write_text("")
    before = {
        **env,
        "MWAA_AIRFLOW_COMPONENT": COMPONENT,
        "MWAA_EXTRAS_SKIPPED": str(skipped_log),
        "PATH": f"{shims}{os.pathsep}{env.get('PATH', os.defpath)}",
    }
    # Sourced, as MWAA does, so plain assignments stay local and exports reach `env`.
    wrapper = '. "$0"; status=$?; env -0 > "$1"; exit $status'
    try:
        proc = run_captured(
            ["bash", "-c", wrapper, str(script.resolve()), str(env_dump)],
            timeout=timeout,
            env=before,
            cwd=workdir,
        )
    except subprocess.TimeoutExpired:
        return StartupResult(timed_out=True, returncode=-1)
    result = StartupResult(returncode=proc.returncode, output=(proc.stdout + proc.stderr).strip())
    result.skipped = [line for line in skipped_log.read_text().splitlines() if line]
    if not env_dump.is_file():
        return result
    after = dict(
        item.split("=", 1) for item in env_dump.read_text(errors="replace").split("\0") if "=" in item
    )
    ours = {"MWAA_EXTRAS_SKIPPED", "PATH", "SHLVL", "_", "PWD", "OLDPWD"}
    for name, value in sorted(after.items()):
        if name in ours or before.get(name) == value:
            continue
        if name in RESERVED_ENV_VARS:
            result.reserved.append(name)
        else:
            result.exported[name] = value
    if after.get("PATH", "") != before["PATH"]:  # PATH may be extended, as the guide allows
        result.exported["PATH"] = after["PATH"].replace(f"{shims}{os.pathsep}", "")
    return result
