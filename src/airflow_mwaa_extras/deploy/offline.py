"""Checks for a ``--no-index`` requirements.txt: will pip find every wheel in plugins.zip?

With ``--no-index`` MWAA's pip sees only what MWAA's image already installed and the wheels
in the ``--find-links`` folder (``/usr/local/airflow/plugins``, where plugins.zip is unpacked).
Each requirement, and each dependency of those wheels that the image lacks, needs a wheel for
MWAA's platform there, or the install fails after a 20-minute update. This walks the wheels'
own ``Requires-Dist`` the way pip would, offline.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from email.parser import HeaderParser
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from airflow_mwaa_extras.deploy import mwaa_data, mwaa_platform, plugins_zip, requirements_file
from airflow_mwaa_extras.deploy.mwaa_platform import WheelFile
from airflow_mwaa_extras.deploy.report import CheckTable, Finding, Severity

__all__ = ["CHECKS", "check_offline", "has_no_index"]

CHECKS = CheckTable(
    "requirements",
    {
        "find-links-elsewhere": (
            Severity.WARNING,
            "--find-links {value}: MWAA unpacks plugins.zip to {plugins_dir}; "
            "without internet access other places are out of reach",
        ),
        "no-find-links": (
            Severity.ERROR,
            "--no-index without --find-links: add --find-links {plugins_dir}",
        ),
        "no-plugins-zip": (
            Severity.ERROR,
            "--no-index, but there is no plugins.zip beside requirements.txt to hold the wheels "
            "(mwaa-extras wheels build)",
        ),
        "plugins-size": (
            Severity.WARNING,
            "{name} is {gigabytes:.1f} GB: MWAA advises below 1 GB; "
            "larger archives risk the 10 minute limit and a rollback",
        ),
        "wheel-platform": (
            Severity.WARNING,
            "{wheel} does not fit MWAA's platform ({label}); pip there ignores it",
        ),
        "base-conflict": (
            Severity.ERROR,
            "{req}{where} conflicts with {name}=={version} that MWAA's image installs",
        ),
        "base-extras": (
            Severity.WARNING,
            "{req}{where}: MWAA's image has {name} without the extras [{extras}]; their dependencies "
            "need wheels in the zip too (mwaa-extras wheels build adds them)",
        ),
        "missing-wheel": (
            Severity.ERROR,
            "no {label} wheel for {req}{where} in {zip}, and MWAA's image does "
            "not have it: pip fails offline (mwaa-extras wheels build)",
        ),
        "wheel-constraint": (
            Severity.ERROR,
            "{wheel}: MWAA's constraints pin {name}=={pinned}; pip will refuse it",
        ),
    },
)


def has_no_index(text: str) -> bool:
    return any(
        line.is_option and line.text.split()[0] == "--no-index"
        for line in requirements_file.parse_requirements(text)
    )


def _find_links(text: str) -> Iterator[tuple[int, str]]:
    for line in requirements_file.parse_requirements(text):
        parts = line.text.replace("=", " ", 1).split() if line.is_option else []
        if len(parts) >= 2 and parts[0] in ("-f", "--find-links"):
            yield line.lineno, parts[1].strip("\"'")


class _Wheels:
    """The wheels at the top of a plugins.zip or a plugins folder."""

    def __init__(self, target: Path) -> None:
        self.target = target
        if target.is_dir():
            found = {p.name: mwaa_platform.parse_wheel(p.name) for p in target.glob("*.whl")}
        else:
            found = dict(mwaa_platform.zip_wheels(target))
        self.all = {name: w for name, w in found.items() if w is not None}

    def metadata_requires(self, wheel: WheelFile) -> list[str]:
        if self.target.is_dir():
            data = (self.target / wheel.filename).read_bytes()
        else:
            with zipfile.ZipFile(self.target) as outer:
                data = outer.read(wheel.filename)
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as inner:
                meta = next((n for n in inner.namelist() if n.endswith(".dist-info/METADATA")), None)
                text = inner.read(meta).decode("utf-8", "replace") if meta else ""
        except zipfile.BadZipFile:
            return []
        return HeaderParser().parsestr(text).get_all("Requires-Dist") or []


def check_offline(
    text: str,
    airflow_version: str,
    plugins: Path | None,
    *,
    path: str = "requirements.txt",
    check_size: bool = True,
    size_limit: int = plugins_zip.SIZE_ADVICE,
) -> list[Finding]:
    """Findings for a ``--no-index`` requirements file and the plugins (zip or folder) beside it.

    :param plugins: plugins.zip or the plugins folder; None when there is none
    :param check_size: report a zip above MWAA's 1 GB advice (the doctor's plugins check does already)
    :param size_limit: that advice in bytes
    """
    if not has_no_index(text):
        return []
    findings: list[Finding] = []
    links = list(_find_links(text))
    for lineno, value in links:
        if value.rstrip("/") != mwaa_platform.PLUGINS_DIR:
            found = CHECKS.finding(
                "find-links-elsewhere", path, lineno, value=value, plugins_dir=mwaa_platform.PLUGINS_DIR
            )
            findings.append(found)
    if not links:
        findings.append(CHECKS.finding("no-find-links", path, plugins_dir=mwaa_platform.PLUGINS_DIR))
    if plugins is None or not plugins.exists():
        findings.append(CHECKS.finding("no-plugins-zip", path))
        return findings
    if check_size and plugins.is_file() and plugins.stat().st_size > size_limit:
        gigabytes = plugins.stat().st_size / 1024**3
        findings.append(CHECKS.finding("plugins-size", plugins.name, name=plugins.name, gigabytes=gigabytes))
    return findings + _check_wheels(text, airflow_version, _Wheels(plugins), path)


def _check_wheels(text: str, airflow_version: str, wheels: _Wheels, path: str) -> list[Finding]:
    findings: list[Finding] = []
    label = mwaa_platform.platform_label(airflow_version)
    fitting: dict[str, list[WheelFile]] = {}
    for wheel in wheels.all.values():
        if wheel.fits(airflow_version):
            fitting.setdefault(wheel.name, []).append(wheel)
        else:
            findings.append(
                CHECKS.finding("wheel-platform", wheels.target.name, wheel=wheel.filename, label=label)
            )
    base = mwaa_platform.mwaa_base(airflow_version)
    pins = mwaa_data.airflow_constraints(airflow_version)
    env = mwaa_platform.marker_environment(airflow_version)
    queue: list[tuple[Requirement, str | None, int | None]] = [
        (line.requirement, None, line.lineno)
        for line in requirements_file.parse_requirements(text)
        if line.requirement is not None
    ]
    seen: set[tuple[str, frozenset[str]]] = set()
    while queue:
        req, needed_by, lineno = queue.pop(0)
        name = canonicalize_name(req.name)
        if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
            continue
        where = f" (needed by {needed_by})" if needed_by else ""
        if name in base:
            if not req.specifier.contains(base[name], prereleases=True):
                found = CHECKS.finding(
                    "base-conflict", path, lineno, req=req, where=where, name=name, version=base[name]
                )
                findings.append(found)
            elif req.extras:
                # The image's copy is installed without these extras: their dependencies need
                # wheels too, and an installed package's metadata is not at hand here.
                extras = ",".join(sorted(req.extras))
                found = CHECKS.finding(
                    "base-extras", path, lineno, req=req, where=where, name=name, extras=extras
                )
                findings.append(found)
            continue
        matches = [w for w in fitting.get(name, []) if req.specifier.contains(w.version, prereleases=True)]
        if not matches:
            zip_name = wheels.target.name
            found = CHECKS.finding(
                "missing-wheel", path, lineno, label=label, req=req, where=where, zip=zip_name
            )
            findings.append(found)
            continue
        wheel = max(matches, key=lambda w: w.version)
        if name in pins and str(wheel.version) != pins[name]:
            found = CHECKS.finding(
                "wheel-constraint", path, lineno, wheel=wheel.filename, name=name, pinned=pins[name]
            )
            findings.append(found)
        key = (name, frozenset(canonicalize_name(e) for e in req.extras))
        if key in seen:
            continue
        seen.add(key)
        for dep in wheels.metadata_requires(wheel):
            try:
                parsed = Requirement(dep)
            except InvalidRequirement:
                continue
            if parsed.marker is None or any(
                parsed.marker.evaluate({**env, "extra": extra}) for extra in ("", *sorted(key[1]))
            ):
                queue.append((Requirement(str(parsed).split(";", 1)[0]), name, lineno))
    return findings
