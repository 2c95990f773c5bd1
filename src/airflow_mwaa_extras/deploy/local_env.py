"""The Python environment MWAA's image would run a project in, built locally with uv and cached.

MWAA's image installs its base requirements under the version's constraints, then the user's
requirements.txt with ``safe-pip-install -r requirements.txt`` (pip under MWAA's *essential*
constraints), adding the image's Airflow constraints file only when the file has no line that
matches ``-c `` / ``--constraint ``; it gives up after 9 minutes. This module does the same into
a virtualenv under ``~/.cache/airflow-mwaa-extras/local/<key>``, where the key is a hash of
every input (version, the shipped lists, the requirements text, the interpreter), so a second
run with the same inputs reuses it. The Airflow constraints URL is replaced by the shipped copy
of that file (no download from GitHub).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from airflow_mwaa_extras.deploy import mwaa_data, mwaa_platform, requirements
from airflow_mwaa_extras.deploy._local_run import exclusive_lock
from airflow_mwaa_extras.deploy.uv import require_uv
from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError
from airflow_mwaa_extras.processes import run_captured

BASE_CONSTRAINTS = ("airflow_constraints.txt", "mwaa_essential_constraints.txt")
USER_INSTALL_TIMEOUT = 540.0  # MWAA's USER_REQUIREMENTS_MAX_INSTALL_TIME: 9 minutes
_READY = "ready"
_FORMAT = "1"  # bump when the layout of a cached environment changes
MWAA_PIP_ERROR = (
    "pip installation exited with a non-zero error code. This could be the result of package "
    "conflict. Notice that MWAA enforces a list of critical packages, e.g. Airflow, Celery, among "
    "others, whose version cannot be overridden by the customer"
)


class LocalEnvError(MwaaExtrasError):
    """The environment could not be built the way MWAA builds it."""


@dataclass
class LocalEnv:
    """A ready environment: its folder, interpreter, and what its creation noticed."""

    folder: Path
    python: Path
    reused: bool
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def bin(self) -> Path:
        return self.python.parent


def mwaa_base_environment(
    airflow_version: str, folder: Path, *, timeout: float = 1200.0, python: str | None = None
) -> Path:
    """Create ``folder`` as a virtualenv with MWAA's base install; return its python.

    Without ``python`` this interpreter must be MWAA's CPython for the version (3.11 for 2.x,
    3.12 for 3.x); with it, the caller chose another interpreter knowingly.
    """
    if python is None:
        here = f"{sys.version_info[0]}.{sys.version_info[1]}"
        if here != mwaa_data.python_version_for(airflow_version):
            raise UsageError(
                f"MWAA {airflow_version} runs CPython {mwaa_data.python_version_for(airflow_version)}; "
                f"this is {here}"
            )
    uv = require_uv("mwaa-extras local")
    venv_python = folder / "bin" / "python"
    # --seed: MWAA installs with pip, so the environment needs pip
    steps = [[uv, "venv", "--quiet", "--seed", "--python", python or sys.executable, str(folder)]]
    install = [uv, "pip", "install", "--quiet", "--python", str(venv_python)]
    for name in BASE_CONSTRAINTS:
        install += ["-c", str(mwaa_data.constraints_file(airflow_version, name))]
    install += ["-r", str(mwaa_data.constraints_file(airflow_version, "mwaa_base_requirements.txt"))]
    for cmd in [*steps, install]:
        proc = run_captured(cmd, timeout=timeout)
        if proc.returncode != 0:
            raise LocalEnvError(f"creating MWAA's base install failed: {proc.stderr.strip()[-500:]}")
    return venv_python


# -- the user's requirements.txt, as MWAA's entrypoint passes it to pip -------------------------


def mwaa_requirements_file(text: str, airflow_version: str, target: Path) -> list[str]:
    """Write ``text`` to ``target`` as MWAA would install it; return the extra pip arguments.

    MWAA's own constraint URL for the version is swapped for the shipped copy of that file; any
    other constraint line is left alone (pip fetches it, as MWAA's would).
    """
    expected = mwaa_data.expected_constraint_url(airflow_version)
    shipped = str(mwaa_data.constraints_file(airflow_version))
    target.write_text(text.replace(expected, shipped), encoding="utf-8")
    extra = ["-c", str(mwaa_data.constraints_file(airflow_version, "mwaa_essential_constraints.txt"))]
    if not any(requirements.MWAA_CONSTRAINT_PATTERN.search(line) for line in text.splitlines()):
        extra += ["-c", shipped]  # "Forcing local constraints"
    return extra


def cache_root() -> Path:
    if env := os.environ.get("MWAA_EXTRAS_LOCAL_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base, "airflow-mwaa-extras", "local")


def env_key(airflow_version: str, requirements_text: str, python: str) -> str:
    """A hash of everything that decides the environment's content."""
    digest = hashlib.sha256(f"{_FORMAT}\0{airflow_version}\0{python}\0".encode())
    for name in (*BASE_CONSTRAINTS, "mwaa_base_requirements.txt"):
        digest.update(mwaa_data.constraints_file(airflow_version, name).read_bytes())
    digest.update(requirements_text.encode())
    return f"{airflow_version}-{digest.hexdigest()[:16]}"


def interpreter_version(python: str) -> str:
    proc = run_captured([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], timeout=60)
    if proc.returncode != 0:
        raise UsageError(f"cannot run {python}")
    return proc.stdout.strip()


def ensure_env(
    airflow_version: str,
    requirements_text: str | None,
    *,
    python: str = sys.executable,
    root: Path | None = None,
    install_timeout: float = USER_INSTALL_TIMEOUT,
) -> LocalEnv:
    """Reuse or build the environment for these inputs.

    The ``ready`` marker is written last: a build that died half-way is removed and redone
    on the next run, so an interrupted run never leaves a cache entry that looks usable.
    """
    text = requirements_text or ""
    key = env_key(airflow_version, text, interpreter_version(python))
    folder = (root or cache_root()) / key
    started = time.monotonic()
    with exclusive_lock(folder.with_suffix(".lock")):  # one builder per key; the others reuse
        if (folder / _READY).is_file():
            kept = (folder / "warnings.txt").read_text(encoding="utf-8").splitlines()
            return LocalEnv(folder, folder / "venv" / "bin" / "python", True, kept)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        venv_python = mwaa_base_environment(airflow_version, folder / "venv", python=python)
        warnings: list[str] = []
        if text.strip():
            _install_user_requirements(venv_python, text, airflow_version, folder, install_timeout)
            warnings = no_wheel_warnings(text, airflow_version, folder)
        (folder / "warnings.txt").write_text("".join(f"{w}\n" for w in warnings), encoding="utf-8")
        (folder / _READY).write_text(key, encoding="utf-8")
    return LocalEnv(folder, venv_python, False, warnings, time.monotonic() - started)


def _uv_pip(
    action: str, options: list[str], text: str, airflow_version: str, req: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """``uv pip ACTION OPTIONS`` on ``text``, written to ``req`` as MWAA's entrypoint installs it."""
    extra = mwaa_requirements_file(text, airflow_version, req)
    source = ["-r", str(req)] if action == "install" else [str(req)]
    return run_captured(
        [require_uv("mwaa-extras local"), "pip", action, *options, *source, *extra], timeout=timeout
    )


def _install_user_requirements(
    venv_python: Path, text: str, airflow_version: str, folder: Path, timeout: float
) -> None:
    try:
        proc = _uv_pip(
            "install",
            ["--python", str(venv_python)],
            text,
            airflow_version,
            folder / "requirements.txt",
            timeout,
        )
    except subprocess.TimeoutExpired as err:
        raise LocalEnvError(
            f"installing requirements.txt took more than {timeout:.0f} s: MWAA stops after 9 minutes "
            "and starts without them"
        ) from err
    if proc.returncode != 0:
        detail = requirements.resolver_error(proc.stderr or proc.stdout)
        raise LocalEnvError(f"requirements.txt: MWAA: {MWAA_PIP_ERROR}. uv: {detail}")


def no_wheel_warnings(text: str, airflow_version: str, folder: Path) -> list[str]:
    """Requirements (or their dependencies) with no wheel for MWAA's platform: MWAA builds them
    from source there, which needs compilers and headers its image may not have, or fails."""
    options = ["--quiet", "--no-header", "--only-binary", ":all:", "-o", os.devnull]
    options += ["--python-version", mwaa_data.python_version_for(airflow_version)]
    options += ["--python-platform", mwaa_platform.UV_PLATFORM]
    proc = _uv_pip("compile", options, text, airflow_version, folder / "requirements-platform.txt", 300)
    if proc.returncode == 0:
        return []
    detail = requirements.resolver_error(proc.stderr or proc.stdout)
    return [
        f"no wheel for MWAA's platform ({mwaa_platform.platform_label(airflow_version)}) for some "
        f"requirement: MWAA would have to build it from source, or fail. uv: {detail}"
    ]
