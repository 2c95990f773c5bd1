"""Resolve requirements for MWAA's platform with uv, whatever machine runs it, and pick the wheels.

``uv pip compile`` under the version's constraints writes a platform-targeted ``pylock.toml``;
this reads it into :class:`LockedPackage` objects and picks the wheel pip on MWAA would.
"""

from __future__ import annotations

import subprocess
import tempfile
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import NormalizedName, canonicalize_name

from airflow_mwaa_extras.deploy import mwaa_data, mwaa_platform, requirements
from airflow_mwaa_extras.deploy.uv import require_uv
from airflow_mwaa_extras.exceptions import MwaaExtrasError
from airflow_mwaa_extras.processes import run_captured

__all__ = ["RESOLVE_TIMEOUT", "LockedPackage", "LockedWheel", "best_wheel", "find_uv", "lock", "render_base"]

RESOLVE_TIMEOUT = 600.0


@dataclass(frozen=True)
class LockedWheel:
    filename: str
    source: str  # URL, or a local path
    sha256: str | None
    size: int | None


@dataclass(frozen=True)
class LockedPackage:
    name: NormalizedName
    version: str
    wheels: tuple[LockedWheel, ...]


def find_uv() -> str:
    """uv for ``wheels build`` (:func:`~airflow_mwaa_extras.deploy.uv.require_uv`)."""
    return require_uv("wheels build")


def lock(
    requirement_files: Sequence[Path],
    airflow_version: str,
    *,
    find_links: Iterable[Path] = (),
    timeout: float = RESOLVE_TIMEOUT,
    pin_base: bool = True,
) -> dict[NormalizedName, LockedPackage]:
    """Resolve ``requirement_files`` under MWAA's constraints for MWAA's platform (``uv pip compile``).

    Returns every package of the resolution with the wheels that fit MWAA's platform (uv keeps
    only those in a platform-targeted ``pylock.toml``); an empty ``wheels`` means sdist only.

    :param pin_base: also hold the image's packages at the shipped versions: a few (psycopg2,
        pycurl, the stubs) are not in the constraints, and a newer release on PyPI must not
        look like something MWAA lacks
    """
    with tempfile.TemporaryDirectory(prefix="mwaa-extras-lock-") as tmp:
        out = Path(tmp, "pylock.toml")
        cmd = [find_uv(), "pip", "compile", "--quiet", "--no-header"]
        cmd += ["--python-version", mwaa_data.python_version_for(airflow_version)]
        cmd += ["--python-platform", mwaa_platform.UV_PLATFORM]
        names = ["airflow_constraints.txt", "mwaa_essential_constraints.txt"]
        names += [mwaa_platform.BASE_RESOLVED] if pin_base else []
        for name in names:
            cmd += ["-c", str(mwaa_data.constraints_file(airflow_version, name))]
        for link in find_links:
            cmd += ["--find-links", str(link)]
        cmd += [str(f) for f in requirement_files] + ["-o", str(out)]
        try:
            proc = run_captured(cmd, timeout=timeout)
        except subprocess.TimeoutExpired as err:
            raise MwaaExtrasError(f"uv did not resolve the requirements in {timeout:.0f} s") from err
        if proc.returncode != 0:
            detail = requirements.resolver_error(proc.stderr or proc.stdout)
            raise MwaaExtrasError(
                f"cannot resolve the requirements with MWAA {airflow_version}'s base install: {detail}"
            )
        data = tomllib.loads(out.read_text(encoding="utf-8"))
    return {pkg.name: pkg for pkg in (_package(p) for p in data.get("packages", []))}


def _package(entry: dict[str, Any]) -> LockedPackage:
    wheels = []
    for wheel in entry.get("wheels") or []:
        source = str(wheel.get("url") or wheel.get("path") or "")
        hashes = wheel.get("hashes") or {}
        filename = str(wheel.get("name") or source.rsplit("/", 1)[-1])
        size = wheel.get("size")
        wheels.append(
            LockedWheel(filename, source, hashes.get("sha256"), size if isinstance(size, int) else None)
        )
    return LockedPackage(canonicalize_name(str(entry["name"])), str(entry.get("version", "")), tuple(wheels))


def best_wheel(pkg: LockedPackage, airflow_version: str) -> LockedWheel | None:
    """The wheel pip on MWAA would pick (best tag first), or None when none fits."""
    rank = {tag: i for i, tag in enumerate(mwaa_platform.target_tags(airflow_version))}
    scored = []
    for wheel in pkg.wheels:
        parsed = mwaa_platform.parse_wheel(wheel.filename)
        if parsed is None:
            continue
        best = min((rank[t] for t in parsed.tags if t in rank), default=None)
        if best is not None:
            scored.append((best, wheel.filename, wheel))
    return min(scored)[2] if scored else None


def render_base(airflow_version: str, *, timeout: float = RESOLVE_TIMEOUT) -> str:
    """``mwaa_base_resolved.txt``: MWAA's base requirements resolved under its constraints."""
    base_file = mwaa_data.constraints_file(airflow_version, "mwaa_base_requirements.txt")
    resolved = lock([base_file], airflow_version, timeout=timeout, pin_base=False)
    head = [
        f"# What MWAA's image for Airflow {airflow_version} has installed before requirements.txt:",
        "# mwaa_base_requirements.txt resolved under airflow_constraints.txt and MWAA's essential pins",
        f"# for {mwaa_platform.platform_label(airflow_version)}. Packages the constraints do not pin",
        "# (psycopg2, pycurl, ...) carry the version of the day it was written.",
        f"# Regenerate: mwaa-extras wheels base --airflow-version {airflow_version} --write",
    ]
    return (
        "\n".join(
            [*head, *(f"{p.name}=={p.version}" for p in sorted(resolved.values(), key=lambda p: p.name))]
        )
        + "\n"
    )
