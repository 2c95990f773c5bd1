"""Build and check ``plugins.zip`` the way MWAA unpacks it into ``/usr/local/airflow/plugins``.

The builder writes the folder's *contents* at the top level (no wrapping folder, the classic
mistake of zipping from outside the folder or with Windows' built-in zip), stores 755 for every
entry, leaves byte code out and fixes timestamps and order so the same input gives the same
bytes (and the same S3 object version only when something changed).

The checks of what its Python files import are in
:mod:`~airflow_mwaa_extras.deploy.plugins_zip_imports`. Its command line is ``mwaa-extras plugins`` (:mod:`airflow_mwaa_extras.cli.plugins_zip`); the
Airflow plugins it can vendor into the zip live in :mod:`airflow_mwaa_extras.plugins`.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from airflow_mwaa_extras.deploy.plugins_zip_imports import Member, check_imports
from airflow_mwaa_extras.deploy.report import CheckTable, Finding, Severity
from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.plugin_classes import PLUGINS

__all__ = [
    "CHECKS",
    "PACKAGE",
    "SHIM_PREFIX",
    "SIZE_ADVICE",
    "BuildResult",
    "build_plugins_zip",
    "check_plugins",
    "shim_modules",
]

FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can store
FILE_MODE = 0o100755
DIR_MODE = 0o040755
SIZE_ADVICE = 1024**3  # MWAA's advice: below 1 GB, or the install may pass the 10 minute limit
_SKIP_DIRS = frozenset({"__pycache__", ".git", ".hg", ".svn", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
_SKIP_SUFFIXES = (".pyc", ".pyo")
CHECKS = CheckTable(
    "plugins",
    {
        "size": (
            Severity.WARNING,
            "{gigabytes:.1f} GB: MWAA advises below 1 GB; larger archives risk the 10 minute "
            "start-up limit and a rollback",
        ),
        "wrapping-folder": (
            Severity.ERROR,
            "everything is inside {top}/, which is not a Python package: MWAA unpacks it to "
            "plugins/{top}/ and Airflow sees no plugin; zip the folder's contents "
            "(mwaa-extras plugins build)",
        ),
        "stray-file": (Severity.WARNING, "{name} is operating-system clutter"),
        "no-modes": (
            "permissions",
            Severity.WARNING,
            "{count} entries were zipped without Unix permissions (e.g. {sample}); "
            "build on Linux/macOS after chmod -R 755, or with mwaa-extras plugins build",
        ),
        "permissions": (
            Severity.ERROR,
            "{count} entries lack 755 permissions, e.g. {sample}: Airflow's user may not read "
            "or run them (chmod -R 755, or mwaa-extras plugins build)",
        ),
    },
)
PACKAGE = "airflow_mwaa_extras"
# One registration file per plugin: Airflow loads each plugins-folder file in its own try/except,
# as it does each entry point, so a bad setting (an on_load error) drops only that plugin.
SHIM_PREFIX = "mwaa_extras_plugin_"
# Parts of this package that are of no use inside an MWAA plugins folder.
_VENDOR_SKIP = frozenset({"example_dags", "demo", "testing", "__main__.py"})


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build_plugins_zip` wrote."""

    path: Path
    entries: int
    size: int
    vendored: bool


def _walk(root: Path) -> Iterator[tuple[PurePosixPath, Path]]:
    """(name in the zip, path on disk) of every directory and file, sorted, byte code left out."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        base = Path(dirpath)
        rel = PurePosixPath(base.relative_to(root).as_posix())
        if str(rel) != ".":
            yield rel, base
        for name in sorted(filenames):
            if name.endswith(_SKIP_SUFFIXES) or name == ".DS_Store":
                continue
            yield rel / name if str(rel) != "." else PurePosixPath(name), base / name


def _zipinfo(name: str, is_dir: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name + ("/" if is_dir else ""), date_time=FIXED_DATE)
    info.create_system = 3  # Unix, so unzip on MWAA honours the mode bits
    info.external_attr = ((DIR_MODE if is_dir else FILE_MODE) << 16) | (0x10 if is_dir else 0)
    info.compress_type = zipfile.ZIP_STORED if is_dir else zipfile.ZIP_DEFLATED
    return info


SHIM_SOURCE = '''"""Registers the airflow-mwaa-extras {name} plugin vendored in this plugins.zip.

Written by `mwaa-extras plugins build --vendor-self`, one file per plugin so that one bad
setting drops only its own plugin. Airflow imports every .py file of the plugins folder as a
plugin module; .airflowignore keeps it out of the airflow_mwaa_extras/ package, which is
imported from here (the plugins folder is on sys.path) instead. A plugin that an installed copy
already registers through its entry points is left out.
"""

from airflow_mwaa_extras.plugins.folder import plugins_for_folder

globals().update(plugins_for_folder("{name}"))
'''


def shim_modules() -> dict[str, str]:
    """File name -> source of the registration files ``--vendor-self`` adds, one per plugin."""
    return {f"{SHIM_PREFIX}{name}.py": SHIM_SOURCE.format(name=name) for name in PLUGINS}


def build_plugins_zip(source: Path, output: Path, *, vendor_self: bool = False) -> BuildResult:
    """Zip the contents of ``source`` into ``output`` reproducibly.

    :param source: the plugins folder (its contents go to the top level of the zip)
    :param output: the zip to write (replaced atomically)
    :param vendor_self: also add this package, a shim module that registers its plugins, and an
        ``.airflowignore`` entry, so it works on MWAA without a requirements.txt line
    """
    source = source.resolve()
    if not source.is_dir():
        raise UsageError(f"plugins folder not found: {source}")
    output = output.resolve()
    entries: dict[str, tuple[bool, bytes]] = {}
    for name, path in _walk(source):
        if path.resolve() == output:
            continue
        if path.is_dir():
            entries[str(name)] = (True, b"")
        elif path.is_file():
            entries[str(name)] = (False, path.read_bytes())
    if vendor_self:
        _add_vendored(entries)
    if not entries:
        raise UsageError(f"plugins folder is empty: {source}")
    tmp = output.with_name(output.name + ".tmp")
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(tmp, "w", compresslevel=9) as zf:
        for entry in sorted(entries):
            is_dir, data = entries[entry]
            zf.writestr(_zipinfo(entry, is_dir), data)
    os.replace(tmp, output)
    return BuildResult(output, len(entries), output.stat().st_size, vendor_self)


def _add_vendored(entries: dict[str, tuple[bool, bytes]]) -> None:
    shims = shim_modules()
    if any(name == PACKAGE or name.startswith(PACKAGE + "/") or name in shims for name in entries):
        raise UsageError(
            f"the plugins folder already has {PACKAGE}/ or {SHIM_PREFIX}*.py; remove them to vendor"
        )
    package_dir = Path(__file__).resolve().parent.parent
    entries[PACKAGE] = (True, b"")
    for name, path in _walk(package_dir):
        if name.parts and name.parts[0] in _VENDOR_SKIP:
            continue
        key = f"{PACKAGE}/{name}"
        entries[key] = (True, b"") if path.is_dir() else (False, path.read_bytes())
    if f"{PACKAGE}/plugins/folder.py" not in entries:  # pragma: no cover - a broken installation
        raise UsageError(f"this copy of {PACKAGE} has no plugins/folder.py to vendor")
    for shim, source in shims.items():
        entries[shim] = (False, source.encode())
    ignore_old = entries.get(".airflowignore", (False, b""))[1].decode()
    # A bare name works with both ignore syntaxes (regexp on 2.x, glob on 3.x).
    if PACKAGE not in ignore_old.split():
        ignore_old = (ignore_old.rstrip("\n") + "\n" if ignore_old.strip() else "") + PACKAGE + "\n"
    entries[".airflowignore"] = (False, ignore_old.encode())


# -- checks ------------------------------------------------------------------------------------


def _zip_members(path: Path) -> Iterator[Member]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise UsageError(f"{path} is not a readable zip file: {err}") from err
    with zf:
        for info in zf.infolist():
            mode = (info.external_attr >> 16) & 0o7777 if info.create_system == 3 else None
            data = zf.read(info) if info.filename.endswith(".py") else None
            yield Member(info.filename.rstrip("/"), info.is_dir(), mode, data)


def _dir_members(path: Path) -> Iterator[Member]:
    for name, item in _walk(path):
        mode = stat.S_IMODE(item.stat().st_mode)
        data = item.read_bytes() if item.is_file() and item.suffix == ".py" else None
        yield Member(str(name), item.is_dir(), mode, data)


def check_plugins(
    target: Path,
    *,
    provided: Iterable[str] = (),
    label: str | None = None,
    check_modes: bool = True,
    size_advice: int = SIZE_ADVICE,
) -> list[Finding]:
    """Check a plugins.zip (or an unzipped plugins folder).

    :param target: the zip, or a folder
    :param provided: distribution names installed on MWAA (Airflow's constraints plus the user's
        requirements); imports outside them, the standard library and the plugins themselves are reported
    :param label: how to name the target in findings
    :param check_modes: check stored permissions (a folder's local modes do not matter when the
        builder writes the zip, so the doctor turns this off for folders)
    :param size_advice: bytes above which the size is reported
    """
    label = label or target.name
    if target.is_dir():
        members = list(_dir_members(target))
        size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    elif target.is_file():
        members = list(_zip_members(target))
        size = target.stat().st_size
    else:
        raise UsageError(f"not found: {target}")
    findings: list[Finding] = []
    findings += _check_layout(members, label)
    if check_modes and not target.is_dir():
        findings += _check_modes(members, label)
    if size > size_advice:
        findings.append(CHECKS.finding("size", label, gigabytes=size / 1024**3))
    findings += check_imports(members, label, provided)
    return findings


def _check_layout(members: list[Member], label: str) -> list[Finding]:
    tops = {m.name.split("/", 1)[0] for m in members if m.name}
    top_files = [m for m in members if "/" not in m.name and not m.is_dir]
    if len(tops) == 1 and not top_files:
        (top,) = tops
        nested_py = any(m.name.endswith(".py") for m in members)
        if not any(m.name == f"{top}/__init__.py" for m in members) and nested_py:
            return [CHECKS.finding("wrapping-folder", label, top=top)]
    return [
        CHECKS.finding("stray-file", label, name=m.name)
        for m in members
        if PurePosixPath(m.name).name in ("Thumbs.db", ".DS_Store") or m.name.startswith("__MACOSX")
    ]


def _check_modes(members: list[Member], label: str) -> list[Finding]:
    no_modes = [m for m in members if m.mode is None]
    if no_modes:
        return [CHECKS.finding("no-modes", label, count=len(no_modes), sample=no_modes[0].name)]
    unreadable = [m for m in members if m.mode is not None and (m.mode & 0o755) != 0o755]
    if not unreadable:
        return []
    sample = ", ".join(f"{m.name} ({m.mode:o})" for m in unreadable[:3])
    return [CHECKS.finding("permissions", label, count=len(unreadable), sample=sample)]
