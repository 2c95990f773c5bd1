"""MWAA's platform as wheels see it: CPython of the Airflow version on Linux x86_64 (manylinux).

MWAA's images (aws/amazon-mwaa-docker-images) run Amazon Linux 2023, glibc 2.34. We accept
manylinux wheels up to glibc 2.28 only: every one of them runs there, and uv's resolution
targets the same platform (``x86_64-manylinux_2_28``). The list of what MWAA's image already
installs (``mwaa_base_resolved.txt``, MWAA's base requirements resolved under its constraints)
ships with the package so the checks run offline.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, NormalizedName, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from airflow_mwaa_extras.deploy import mwaa_data

__all__ = [
    "BASE_RESOLVED",
    "PLUGINS_DIR",
    "UV_PLATFORM",
    "WheelFile",
    "marker_environment",
    "mwaa_base",
    "parse_wheel",
    "platform_label",
    "python_tuple",
    "target_tags",
    "zip_wheels",
]

PLUGINS_DIR = "/usr/local/airflow/plugins"  # where MWAA unpacks plugins.zip
UV_PLATFORM = "x86_64-manylinux_2_28"
BASE_RESOLVED = mwaa_data.BASE_RESOLVED
_MAX_GLIBC_MINOR = 28
_LEGACY = ("manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64")


def _platforms() -> list[str]:
    newest_first = [f"manylinux_2_{minor}_x86_64" for minor in range(_MAX_GLIBC_MINOR, 4, -1)]
    return newest_first + list(_LEGACY)


@cache
def python_tuple(airflow_version: str) -> tuple[int, int]:
    major, minor = mwaa_data.python_version_for(airflow_version).split(".")
    return int(major), int(minor)


@cache
def target_tags(airflow_version: str) -> tuple[Tag, ...]:
    """Wheel tags MWAA's pip accepts for this Airflow version, best first (as pip orders them)."""
    py = python_tuple(airflow_version)
    platforms = _platforms()
    interpreter = f"cp{py[0]}{py[1]}"
    tags = list(cpython_tags(py, abis=[interpreter], platforms=platforms))
    tags += compatible_tags(py, interpreter=interpreter, platforms=platforms)
    return tuple(tags)


def platform_label(airflow_version: str) -> str:
    major, minor = python_tuple(airflow_version)
    return f"cp{major}{minor} manylinux x86_64"


def marker_environment(airflow_version: str) -> dict[str, str]:
    """PEP 508 marker values on MWAA (for Requires-Dist and requirement markers)."""
    major, minor = python_tuple(airflow_version)
    return {
        "python_version": f"{major}.{minor}",
        "python_full_version": f"{major}.{minor}.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_version": "",
        "implementation_version": f"{major}.{minor}.0",
    }


@cache
def mwaa_base(airflow_version: str) -> dict[NormalizedName, str]:
    """``{name: version}`` of every distribution MWAA's image installs before requirements.txt."""
    text = mwaa_data.constraints_file(airflow_version, BASE_RESOLVED).read_text(encoding="utf-8")
    base: dict[NormalizedName, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" in line:
            name, _, version = line.partition("==")
            base[canonicalize_name(name.split("[")[0])] = version.strip()
    return base


@dataclass(frozen=True)
class WheelFile:
    """One ``.whl`` at the top of a plugins.zip (or in a folder)."""

    filename: str
    name: NormalizedName
    version: Version
    tags: frozenset[Tag]

    def fits(self, airflow_version: str) -> bool:
        return not self.tags.isdisjoint(target_tags(airflow_version))


def parse_wheel(filename: str) -> WheelFile | None:
    """The name, version and tags of a wheel file name, or None when it is not one."""
    try:
        name, version, _build, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return None
    return WheelFile(filename, name, version, frozenset(tags))


def zip_wheels(path: Path) -> dict[str, WheelFile]:
    """Wheels at the top level of a plugins.zip: MWAA's pip sees only ``plugins/*.whl``."""
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if "/" not in n.rstrip("/") and n.endswith(".whl")]
    return {n: w for n in names if (w := parse_wheel(n)) is not None}
