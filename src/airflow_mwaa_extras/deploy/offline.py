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
from airflow_mwaa_extras.deploy.report import Finding, Severity

__all__ = ["check_offline", "has_no_index"]


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
            findings.append(
                Finding(
                    "requirements.find-links-elsewhere",
                    Severity.WARNING,
                    f"--find-links {value}: MWAA unpacks plugins.zip to {mwaa_platform.PLUGINS_DIR}; "
                    "without internet access other places are out of reach",
                    path,
                    lineno,
                )
            )
    if not links:
        findings.append(
            Finding(
                "requirements.no-find-links",
                Severity.ERROR,
                f"--no-index without --find-links: add --find-links {mwaa_platform.PLUGINS_DIR}",
                path,
            )
        )
    if plugins is None or not plugins.exists():
        findings.append(
            Finding(
                "requirements.no-plugins-zip",
                Severity.ERROR,
                "--no-index, but there is no plugins.zip beside requirements.txt to hold the wheels "
                "(mwaa-extras wheels build)",
                path,
            )
        )
        return findings
    if check_size and plugins.is_file() and plugins.stat().st_size > size_limit:
        findings.append(
            Finding(
                "requirements.plugins-size",
                Severity.WARNING,
                f"{plugins.name} is {plugins.stat().st_size / 1024**3:.1f} GB: MWAA advises below 1 GB; "
                "larger archives risk the 10 minute limit and a rollback",
                plugins.name,
            )
        )
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
                Finding(
                    "requirements.wheel-platform",
                    Severity.WARNING,
                    f"{wheel.filename} does not fit MWAA's platform ({label}); pip there ignores it",
                    wheels.target.name,
                )
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
                findings.append(
                    Finding(
                        "requirements.base-conflict",
                        Severity.ERROR,
                        f"{req}{where} conflicts with {name}=={base[name]} that MWAA's image installs",
                        path,
                        lineno,
                    )
                )
            elif req.extras:
                # The image's copy is installed without these extras: their dependencies need
                # wheels too, and an installed package's metadata is not at hand here.
                findings.append(
                    Finding(
                        "requirements.base-extras",
                        Severity.WARNING,
                        f"{req}{where}: MWAA's image has {name} without the extras "
                        f"[{','.join(sorted(req.extras))}]; their dependencies need wheels in the zip "
                        "too (mwaa-extras wheels build adds them)",
                        path,
                        lineno,
                    )
                )
            continue
        matches = [w for w in fitting.get(name, []) if req.specifier.contains(w.version, prereleases=True)]
        if not matches:
            findings.append(
                Finding(
                    "requirements.missing-wheel",
                    Severity.ERROR,
                    f"no {label} wheel for {req}{where} in {wheels.target.name}, and MWAA's image does "
                    "not have it: pip fails offline (mwaa-extras wheels build)",
                    path,
                    lineno,
                )
            )
            continue
        wheel = max(matches, key=lambda w: w.version)
        if name in pins and str(wheel.version) != pins[name]:
            findings.append(
                Finding(
                    "requirements.wheel-constraint",
                    Severity.ERROR,
                    f"{wheel.filename}: MWAA's constraints pin {name}=={pins[name]}; pip will refuse it",
                    path,
                    lineno,
                )
            )
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
