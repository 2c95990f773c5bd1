"""``mwaa-extras wheels build``: the wheels a private-network MWAA environment needs, in plugins.zip.

Without internet access MWAA's pip can only install wheels from ``/usr/local/airflow/plugins``
(``--find-links ... --no-index``). This module resolves the user's requirements together with
MWAA's base install under the version's constraints, for MWAA's platform (uv's platform-targeted
resolution, whatever machine runs it), keeps only what the image does not already have,
downloads those wheels (sha256 checked, cached, retried) and writes them at the top of a
reproducible plugins.zip next to the user's plugins, plus the matching requirements.txt.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import tomllib
import urllib.request
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.parse import urlsplit

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from airflow_mwaa_extras import __version__
from airflow_mwaa_extras.deploy import mwaa_data, mwaa_platform, plugins_zip, requirements, requirements_file
from airflow_mwaa_extras.deploy.uv import require_uv
from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError

__all__ = [
    "DOWNLOAD_ATTEMPTS",
    "RESOLVE_TIMEOUT",
    "SELF_NAME",
    "LockedPackage",
    "LockedWheel",
    "WheelsBuildResult",
    "best_wheel",
    "build_self_wheel",
    "build_wheels_zip",
    "cache_dir",
    "fetch_wheel",
    "find_uv",
    "lock",
    "pinned_lines",
    "read_user_requirements",
    "render_base",
    "render_requirements",
]

SELF_NAME = canonicalize_name("airflow-mwaa-extras")
RESOLVE_TIMEOUT = 600.0
DOWNLOAD_ATTEMPTS = 3
# Options that describe where wheels come from on MWAA, not on this machine: dropped on input.
_PLACE_OPTIONS = ("-c", "--constraint", "--no-index", "-f", "--find-links")
_UNSUPPORTED_OPTIONS = ("-r", "--requirement", "-e", "--editable")


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


@dataclass
class WheelsBuildResult:
    """What :func:`build_wheels_zip` did, for the summary."""

    zip_path: Path
    zip_size: int
    requirements_path: Path
    added: list[tuple[LockedPackage, LockedWheel, int]] = field(default_factory=list)
    left_out: list[tuple[NormalizedName, str]] = field(default_factory=list)
    seconds: float = 0.0


# -- uv ----------------------------------------------------------------------------------------


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
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
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


# -- downloads ---------------------------------------------------------------------------------


def cache_dir() -> Path:
    if env := os.environ.get("MWAA_EXTRAS_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base, "airflow-mwaa-extras", "wheels")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_wheel(wheel: LockedWheel, *, base_dir: Path | None = None, cache: Path | None = None) -> Path:
    """A local copy of ``wheel`` with its sha256 checked.

    Downloads go to a temporary name and are renamed only once the hash matches, so an
    interrupted or corrupted download is never used and a retry starts clean.
    """
    parts = urlsplit(wheel.source)
    if parts.scheme in ("", "file"):
        local = Path(parts.path if parts.scheme else wheel.source)
        if not local.is_absolute() and base_dir is not None:
            local = base_dir / local
        if not local.is_file():
            raise MwaaExtrasError(f"wheel not found: {local}")
        if wheel.sha256 and _sha256(local) != wheel.sha256:
            raise MwaaExtrasError(f"{wheel.filename}: sha256 does not match the resolution")
        return local
    if not wheel.sha256:
        raise MwaaExtrasError(f"{wheel.filename}: the index gave no sha256; refusing an unchecked download")
    folder = (cache or cache_dir()) / wheel.sha256[:2] / wheel.sha256
    target = folder / wheel.filename
    if target.is_file() and _sha256(target) == wheel.sha256:
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise MwaaExtrasError(f"cannot use the wheel cache {folder.parent.parent}: {err.strerror}") from err
    last = "no attempt"
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        tmp = folder / f".{wheel.filename}.{os.getpid()}.part"
        try:
            with urllib.request.urlopen(wheel.source, timeout=60) as resp, tmp.open("wb") as out:
                shutil.copyfileobj(resp, out)
            if _sha256(tmp) == wheel.sha256:
                os.replace(tmp, target)
                return target
            last = "sha256 mismatch"
        except (URLError, OSError, TimeoutError) as err:
            last = str(getattr(err, "reason", err))
        finally:
            tmp.unlink(missing_ok=True)
        if attempt < DOWNLOAD_ATTEMPTS:
            time.sleep(0.5 * attempt)
    host = parts.hostname or "the index"
    raise MwaaExtrasError(f"cannot download {wheel.filename} from {host} ({DOWNLOAD_ATTEMPTS} tries): {last}")


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


# -- this package as a wheel -------------------------------------------------------------------


def build_self_wheel(out_dir: Path, *, timeout: float = 300.0) -> Path:
    """A wheel of this package, built from its source checkout (``uv build``)."""
    root = Path(__file__).resolve().parents[3]
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file() or 'name = "airflow-mwaa-extras"' not in pyproject.read_text(encoding="utf-8"):
        raise UsageError(
            "--self needs a source checkout of airflow-mwaa-extras; an installed copy: list "
            f"airflow-mwaa-extras=={__version__} in requirements.txt instead (it is on PyPI)"
        )
    cmd = [find_uv(), "build", "--quiet", "--wheel", "--out-dir", str(out_dir), str(root)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    built = sorted(out_dir.glob("airflow_mwaa_extras-*.whl"))
    if proc.returncode != 0 or not built:
        raise MwaaExtrasError(f"uv build failed: {requirements.resolver_error(proc.stderr)}")
    return built[-1]


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
