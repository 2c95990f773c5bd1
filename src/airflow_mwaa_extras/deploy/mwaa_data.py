"""MWAA's own lists per Airflow version, as shipped in ``airflow_mwaa_extras/data/mwaa/<version>/``.

The one reader of that package data (L1; imports packaging and the standard library only):
the constraints file MWAA installs with (``airflow_constraints.txt``), the essential pins a
requirements.txt can never change (``mwaa_essential_constraints.txt``), MWAA's base install
(``mwaa_base_requirements.txt``, and ``mwaa_base_resolved.txt`` resolved under the two), the
Python MWAA runs each version on, and which versions ship at all. The requirements checks, the
wheel and local-environment builders and the Secrets Manager backend checks all ask here.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

from airflow_mwaa_extras.exceptions import UsageError

__all__ = [
    "AIRFLOW_CONSTRAINTS",
    "BASE_REQUIREMENTS",
    "BASE_RESOLVED",
    "ESSENTIAL_CONSTRAINTS",
    "airflow_constraints",
    "check_version",
    "constraint_url_versions",
    "constraints_file",
    "default_airflow_version",
    "essential_pins",
    "expected_constraint_url",
    "python_version_for",
    "supported_versions",
]

AIRFLOW_CONSTRAINTS = "airflow_constraints.txt"
ESSENTIAL_CONSTRAINTS = "mwaa_essential_constraints.txt"
BASE_REQUIREMENTS = "mwaa_base_requirements.txt"
BASE_RESOLVED = "mwaa_base_resolved.txt"
_CONSTRAINT_URL = re.compile(r"constraints-(?P<airflow>[0-9][^/]*)/constraints-(?P<python>3\.\d+)\.txt")


def _root() -> resources.abc.Traversable:
    return resources.files("airflow_mwaa_extras").joinpath("data", "mwaa")


@cache
def supported_versions() -> tuple[str, ...]:
    """The MWAA Airflow versions whose lists ship with this package, oldest first."""
    names = [entry.name for entry in _root().iterdir() if entry.is_dir()]
    return tuple(sorted(names, key=Version))


def check_version(airflow_version: str) -> str:
    """``airflow_version`` when its lists ship with this package.

    :raises UsageError: naming the versions that do.
    """
    if airflow_version not in supported_versions():
        raise UsageError(
            f"unknown MWAA Airflow version {airflow_version!r}; known: {', '.join(supported_versions())}"
        )
    return airflow_version


def constraints_file(airflow_version: str, name: str = AIRFLOW_CONSTRAINTS) -> Path:
    """A real file path of a shipped list (for resolvers and pip, which need one)."""
    return Path(str(_root().joinpath(check_version(airflow_version), name)))


def _read(airflow_version: str, name: str) -> str:
    return constraints_file(airflow_version, name).read_text(encoding="utf-8")


def _pins(text: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" in line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name.strip())] = version.strip()
    return pins


@cache
def airflow_constraints(airflow_version: str) -> dict[str, str]:
    """``{canonical name: version}`` of the constraints file MWAA installs with."""
    return _pins(_read(airflow_version, AIRFLOW_CONSTRAINTS))


@cache
def essential_pins(airflow_version: str) -> dict[str, str]:
    """``{canonical name: version}`` that MWAA never lets a requirements.txt change."""
    return _pins(_read(airflow_version, ESSENTIAL_CONSTRAINTS))


@cache
def python_version_for(airflow_version: str) -> str:
    """The Python minor version MWAA runs this Airflow version on (from its constraints URL)."""
    match = _CONSTRAINT_URL.search(_read(airflow_version, AIRFLOW_CONSTRAINTS))
    if match is None:  # pragma: no cover - the shipped files all carry the URL
        raise UsageError(f"no constraints URL in the shipped file for {airflow_version}")
    return match.group("python")


def expected_constraint_url(airflow_version: str) -> str:
    """The constraint line's URL MWAA's guide gives for this version."""
    python = python_version_for(airflow_version)
    return f"https://raw.githubusercontent.com/apache/airflow/constraints-{airflow_version}/constraints-{python}.txt"


def constraint_url_versions(value: str) -> tuple[str, str] | None:
    """(Airflow version, Python version) named by an Airflow constraints URL, or None."""
    match = _CONSTRAINT_URL.search(value)
    return (match.group("airflow"), match.group("python")) if match else None


def default_airflow_version(given: str | None) -> str:
    """``given``, else the installed Airflow's version when its lists ship with this package."""
    if given:
        return check_version(given)
    # Imported here: reading the installed distribution's metadata is only needed now.
    from airflow_mwaa_extras.version_compat import AIRFLOW_VERSION

    if AIRFLOW_VERSION is not None and str(AIRFLOW_VERSION) in supported_versions():
        return str(AIRFLOW_VERSION)
    raise UsageError(f"give --airflow-version (one of {', '.join(supported_versions())})")
