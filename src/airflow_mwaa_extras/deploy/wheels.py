"""``mwaa-extras wheels build``: the wheels a private-network MWAA environment needs, in plugins.zip.

Without internet access MWAA's pip can only install wheels from ``/usr/local/airflow/plugins``
(``--find-links ... --no-index``). This module resolves the user's requirements together with
MWAA's base install under the version's constraints, for MWAA's platform (uv's platform-targeted
resolution, whatever machine runs it), keeps only what the image does not already have,
downloads those wheels (sha256 checked, cached, retried) and writes them at the top of a
reproducible plugins.zip next to the user's plugins, plus the matching requirements.txt.
The resolution is in :mod:`~airflow_mwaa_extras.deploy.wheel_lock`, the downloads in
:mod:`~airflow_mwaa_extras.deploy.wheel_files`; this module reads the user's file and builds.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from airflow_mwaa_extras import __version__
from airflow_mwaa_extras.deploy import mwaa_data, mwaa_platform, plugins_zip, requirements, requirements_file
from airflow_mwaa_extras.deploy.wheel_files import build_self_wheel, fetch_wheel
from airflow_mwaa_extras.deploy.wheel_lock import (
    RESOLVE_TIMEOUT,
    LockedPackage,
    LockedWheel,
    best_wheel,
    lock,
)
from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError

__all__ = [
    "SELF_NAME",
    "WheelsBuildResult",
    "build_wheels_zip",
    "pinned_lines",
    "read_user_requirements",
    "render_requirements",
]

SELF_NAME = canonicalize_name("airflow-mwaa-extras")
# Options that describe where wheels come from on MWAA, not on this machine: dropped on input.
_PLACE_OPTIONS = ("-c", "--constraint", "--no-index", "-f", "--find-links")
_UNSUPPORTED_OPTIONS = ("-r", "--requirement", "-e", "--editable")


@dataclass
class WheelsBuildResult:
    """What :func:`build_wheels_zip` did, for the summary."""

    zip_path: Path
    zip_size: int
    requirements_path: Path
    added: list[tuple[LockedPackage, LockedWheel, int]] = field(default_factory=list)
    left_out: list[tuple[NormalizedName, str]] = field(default_factory=list)
    seconds: float = 0.0


# -- the user's requirements -------------------------------------------------------------------


def read_user_requirements(path: Path) -> tuple[list[Requirement], str]:
    """The requirements of ``path`` and a copy for the resolver without MWAA-side options.

    Constraint, ``--no-index`` and ``--find-links`` lines describe the install on MWAA (a
    constraints URL cannot be fetched there, the plugins folder does not exist here): dropped.
    """
    if not path.is_file():
        raise UsageError(f"requirements file not found: {path}")
    text = path.read_text(encoding="utf-8")
    reqs: list[Requirement] = []
    kept: list[str] = []
    for line in requirements_file.parse_requirements(text):
        where = f"{path.name}:{line.lineno}"
        if line.error is not None:
            raise UsageError(f"{where}: pip cannot parse this line: {line.error}")
        if line.is_option:
            option = line.text.split("=", 1)[0].split()[0]
            if option in _UNSUPPORTED_OPTIONS:
                raise UsageError(f"{where}: {option} is not supported here; list the requirements instead")
            if option not in _PLACE_OPTIONS:
                kept.append(line.text)  # e.g. --index-url of a private mirror
            continue
        assert line.requirement is not None
        if line.requirement.url is not None:
            raise UsageError(f"{where}: {line.requirement.name} @ URL: give a version (name==x.y) instead")
        reqs.append(line.requirement)
        kept.append(str(line.requirement))
    if not reqs:
        raise UsageError(f"{path.name} lists no requirement")
    return reqs, "\n".join(kept) + "\n"


def pinned_lines(reqs: Sequence[Requirement], resolved: dict[NormalizedName, LockedPackage]) -> list[str]:
    """The user's requirements pinned to the resolved versions (extras and markers kept)."""
    lines = []
    for req in reqs:
        name = canonicalize_name(req.name)
        pkg = resolved.get(name)
        if pkg is None:  # its marker is false on MWAA: pip skips it there too
            lines.append(str(req))
            continue
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        marker = f"; {req.marker}" if req.marker else ""
        lines.append(f"{req.name}{extras}=={pkg.version}{marker}")
    return lines


def render_requirements(airflow_version: str, lines: Sequence[str]) -> str:
    """The requirements.txt for MWAA: wheels from the plugins folder only, no constraint line.

    The guide says to leave the constraint line out for --no-index installs: a constraints URL
    cannot be fetched without internet, and with none MWAA applies the constraints file inside
    its image, the one the wheels were resolved under. (MWAA's detection matches "-c " and
    "--constraint " even in comments, so the comments here avoid both.)
    """
    head = [
        f"# Written by mwaa-extras wheels build {__version__} for MWAA Airflow {airflow_version} "
        f"({mwaa_platform.platform_label(airflow_version)}).",
        f"# Every wheel is in plugins.zip, which MWAA unpacks to {mwaa_platform.PLUGINS_DIR}.",
        "# No constraint line on purpose: MWAA then applies the constraints file of its image,",
        "# the one these wheels were resolved under (a constraints URL is unreachable offline).",
        f"--find-links {mwaa_platform.PLUGINS_DIR}",
        "--no-index",
    ]
    text = "\n".join([*head, *lines]) + "\n"
    assert not requirements.MWAA_CONSTRAINT_PATTERN.search(text)
    return text


# -- the build ---------------------------------------------------------------------------------


def _marker_true(req: Requirement, airflow_version: str) -> bool:
    env = mwaa_platform.marker_environment(airflow_version)
    return req.marker is None or Marker(str(req.marker)).evaluate({**env, "extra": ""})


def build_wheels_zip(
    requirements_file: Path,
    airflow_version: str,
    output: Path,
    *,
    plugins_dir: Path | None = None,
    requirements_out: Path | None = None,
    include_self: bool = False,
    find_links: Sequence[Path] = (),
    leave_out_base: bool = True,
    timeout: float = RESOLVE_TIMEOUT,
) -> WheelsBuildResult:
    """Resolve, download and zip the wheels MWAA lacks; write the matching requirements.txt.

    :param requirements_file: the user's requirements (constraint and index lines are ignored)
    :param airflow_version: the environment's MWAA Airflow version
    :param output: the plugins.zip to write
    :param plugins_dir: the user's plugins folder, zipped alongside the wheels
    :param requirements_out: where the requirements.txt goes (default: beside ``output``)
    :param include_self: add this package as its own wheel (built from the source checkout)
    :param find_links: extra local folders of wheels for the resolution
    :param leave_out_base: leave out what MWAA's image already has (off only to measure)
    """
    started = time.monotonic()
    mwaa_data.check_version(airflow_version)
    if plugins_dir is not None and not plugins_dir.is_dir():
        raise UsageError(f"plugins folder not found: {plugins_dir}")
    reqs, cleaned = read_user_requirements(requirements_file)
    base = mwaa_platform.mwaa_base(airflow_version)
    with tempfile.TemporaryDirectory(prefix="mwaa-extras-wheels-") as tmp_name:
        tmp = Path(tmp_name)
        links = list(find_links)
        self_wheel = None
        if include_self:
            self_wheel = build_self_wheel(tmp / "self")
            links.append(self_wheel.parent)
            if all(canonicalize_name(r.name) != SELF_NAME for r in reqs):
                reqs.append(Requirement(f"airflow-mwaa-extras=={__version__}"))
                cleaned += f"airflow-mwaa-extras=={__version__}\n"
        user_file = tmp / "user-requirements.txt"
        user_file.write_text(cleaned, encoding="utf-8")
        base_file = mwaa_data.constraints_file(airflow_version, "mwaa_base_requirements.txt")
        # Two resolutions at once (uv waits on the network, not the CPU): with MWAA's base
        # install, for the versions; alone, to name what MWAA already had of its closure.
        with ThreadPoolExecutor(2) as pool:
            joint = pool.submit(
                lock, [base_file, user_file], airflow_version, find_links=links, timeout=timeout
            )
            alone = pool.submit(_user_closure, reqs, airflow_version, links, timeout)
            resolved, closure = joint.result(), alone.result()
        _check_base_unchanged(resolved, base, airflow_version)
        if leave_out_base:
            needed = [p for p in resolved.values() if p.name not in base]
        else:  # what the guide's `pip download -r requirements.txt` would fetch
            needed = [resolved.get(n, p) for n, p in closure.items()]
        chosen = _choose_wheels(needed, airflow_version)
        staging = tmp / "zip"
        if plugins_dir is not None:
            shutil.copytree(plugins_dir, staging)
        staging.mkdir(exist_ok=True)
        added = []
        for pkg, wheel in chosen:
            if self_wheel is not None and pkg.name == SELF_NAME:
                local = self_wheel
                wheel = LockedWheel(self_wheel.name, str(self_wheel), None, None)
            else:
                local = fetch_wheel(wheel, base_dir=tmp)
            shutil.copyfile(local, staging / wheel.filename)
            added.append((pkg, wheel, local.stat().st_size))
        if not any(staging.iterdir()):
            raise UsageError("nothing to put in plugins.zip: MWAA's image already has every requirement")
        built = plugins_zip.build_plugins_zip(staging, output)
    left_out = sorted((n, base[n]) for n in closure if n in base) if leave_out_base else []
    target = requirements_out or output.resolve().parent / "requirements.txt"
    body = render_requirements(airflow_version, pinned_lines(reqs, resolved))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_req = target.with_name(target.name + ".tmp")
    tmp_req.write_text(body, encoding="utf-8")
    os.replace(tmp_req, target)
    return WheelsBuildResult(
        built.path, built.size, target, added, left_out, seconds=time.monotonic() - started
    )


def _check_base_unchanged(
    resolved: dict[NormalizedName, LockedPackage], base: dict[NormalizedName, str], airflow_version: str
) -> None:
    moved = sorted(
        f"{n}=={base[n]} -> {p.version}" for n, p in resolved.items() if n in base and p.version != base[n]
    )
    if moved:
        raise MwaaExtrasError(
            f"these requirements would change packages MWAA {airflow_version}'s image installs: "
            + ", ".join(moved)
        )


def _choose_wheels(
    needed: Iterable[LockedPackage], airflow_version: str
) -> list[tuple[LockedPackage, LockedWheel]]:
    chosen, missing = [], []
    for pkg in sorted(needed, key=lambda p: p.name):
        wheel = best_wheel(pkg, airflow_version)
        if wheel is None:
            missing.append(f"{pkg.name}=={pkg.version}")
        else:
            chosen.append((pkg, wheel))
    if missing:
        raise MwaaExtrasError(
            f"no wheel for MWAA's platform ({mwaa_platform.platform_label(airflow_version)}) of "
            + ", ".join(missing)
            + ": MWAA cannot build a source distribution offline; pick a version that ships such a "
            "wheel, or build one in an MWAA-like container"
        )
    return chosen


def _user_closure(
    reqs: Sequence[Requirement], airflow_version: str, links: Sequence[Path], timeout: float
) -> dict[NormalizedName, LockedPackage]:
    """The user's requirements with their dependencies alone, to name what MWAA already had."""
    wanted = [str(r) for r in reqs if _marker_true(r, airflow_version)]
    if not wanted:
        return {}
    with tempfile.TemporaryDirectory(prefix="mwaa-extras-closure-") as tmp:
        path = Path(tmp, "requirements.txt")
        path.write_text("\n".join(wanted) + "\n", encoding="utf-8")
        return lock([path], airflow_version, find_links=links, timeout=timeout)
