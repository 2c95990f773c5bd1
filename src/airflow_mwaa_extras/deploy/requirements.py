"""Check a ``requirements.txt`` the way MWAA will install it, before a 10-30 minute update fails.

MWAA installs the file with ``pip install -r`` under a constraints file. It detects the user's
constraint line with the pattern ``-c `` / ``--constraint `` anywhere on a line (and inserts its
own when there is none), never lets the user change its *essential* pins, and gives up after
about 9 to 10 minutes. MWAA's constraint lists for each supported Airflow version ship with this
package (``airflow_mwaa_extras/data/mwaa/<version>/``) so the checks work offline.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from airflow_mwaa_extras.deploy.report import Finding, Severity
from airflow_mwaa_extras.deploy.uv import find_uv
from airflow_mwaa_extras.exceptions import UsageError

# What MWAA's installer greps for; note the trailing space: `--constraint=URL` is not detected.
MWAA_CONSTRAINT_PATTERN = re.compile(r"(-c |--constraint )")
_CONSTRAINT_OPTION = re.compile(r"^\s*(?:-c|--constraint)(?:\s*=\s*|\s+)(?P<value>\S+)")
_CONSTRAINT_URL = re.compile(r"constraints-(?P<airflow>[0-9][^/]*)/constraints-(?P<python>3\.\d+)\.txt")
_INDEX_OPTION = re.compile(
    r"^\s*(?P<opt>-i|--index-url|--extra-index-url|-f|--find-links|--trusted-host|--no-index)\b(?:\s*=\s*|\s+)?(?P<value>\S*)"
)
_ENV_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
RESOLVE_TIMEOUT = 300.0


@dataclass(frozen=True)
class RequirementLine:
    """One logical line of a requirements file (continuations joined, comments removed)."""

    lineno: int
    text: str
    requirement: Requirement | None = None
    error: str | None = None

    @property
    def is_option(self) -> bool:
        return self.text.startswith("-")


# -- MWAA's constraint lists (package data) ---------------------------------------------------


def _data_dir(version: str) -> resources.abc.Traversable:
    return resources.files("airflow_mwaa_extras").joinpath("data", "mwaa", version)


@cache
def supported_versions() -> tuple[str, ...]:
    """The MWAA Airflow versions whose constraint lists ship with this package."""
    root = resources.files("airflow_mwaa_extras").joinpath("data", "mwaa")
    names = [entry.name for entry in root.iterdir() if entry.is_dir()]
    return tuple(sorted(names, key=lambda v: tuple(int(p) for p in v.split("."))))


def _check_version(airflow_version: str) -> str:
    if airflow_version not in supported_versions():
        raise UsageError(
            f"unknown MWAA Airflow version {airflow_version!r}; known: {', '.join(supported_versions())}"
        )
    return airflow_version


def _read_data(version: str, name: str) -> str:
    return _data_dir(_check_version(version)).joinpath(name).read_text(encoding="utf-8")


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
    return _pins(_read_data(airflow_version, "airflow_constraints.txt"))


@cache
def essential_pins(airflow_version: str) -> dict[str, str]:
    """``{canonical name: version}`` that MWAA never lets a requirements.txt change."""
    return _pins(_read_data(airflow_version, "mwaa_essential_constraints.txt"))


@cache
def python_version_for(airflow_version: str) -> str:
    """The Python minor version MWAA runs this Airflow version on (from its constraints URL)."""
    match = _CONSTRAINT_URL.search(_read_data(airflow_version, "airflow_constraints.txt"))
    if match is None:  # pragma: no cover - the shipped files all carry the URL
        raise UsageError(f"no constraints URL in the shipped file for {airflow_version}")
    return match.group("python")


def constraints_file(airflow_version: str, name: str = "airflow_constraints.txt") -> Path:
    """A real file path of a shipped list (for resolvers that need one)."""
    path = _data_dir(_check_version(airflow_version)).joinpath(name)
    return Path(str(path))


def expected_constraint_url(airflow_version: str) -> str:
    python = python_version_for(airflow_version)
    return f"https://raw.githubusercontent.com/apache/airflow/constraints-{airflow_version}/constraints-{python}.txt"


# -- parsing -----------------------------------------------------------------------------------


def parse_requirements(text: str) -> list[RequirementLine]:
    """Split a requirements file into logical lines, keeping the first physical line number."""
    lines: list[RequirementLine] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        # pip strips comments that start at the line start or after whitespace.
        stripped = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical = (pending + stripped).strip()
        pending = ""
        if not logical:
            continue
        if logical.startswith("-"):
            lines.append(RequirementLine(start, logical))
            continue
        try:
            lines.append(RequirementLine(start, logical, requirement=Requirement(logical.split(" --", 1)[0])))
        except InvalidRequirement as err:
            lines.append(RequirementLine(start, logical, error=str(err).splitlines()[0]))
    return lines


# -- checks ------------------------------------------------------------------------------------


def check_requirements(
    text: str, airflow_version: str, *, path: str = "requirements.txt", python_version: str | None = None
) -> list[Finding]:
    """Every static check of one requirements file; see the module docstring for the rules."""
    _check_version(airflow_version)
    python = python_version or python_version_for(airflow_version)
    lines = parse_requirements(text)
    findings: list[Finding] = []
    findings += _check_constraint_line(text, lines, airflow_version, python, path)
    findings += _check_pins(lines, airflow_version, path)
    findings += _check_index_lines(lines, path)
    return findings


def _check_constraint_line(
    text: str, lines: list[RequirementLine], airflow_version: str, python: str, path: str
) -> list[Finding]:
    findings: list[Finding] = []
    detected = [n for n, raw in enumerate(text.splitlines(), start=1) if MWAA_CONSTRAINT_PATTERN.search(raw)]
    options = [line for line in lines if _CONSTRAINT_OPTION.match(line.text)]
    expected = expected_constraint_url(airflow_version)
    if not detected:
        if options:
            findings.append(
                Finding(
                    "requirements.constraint-not-detected",
                    Severity.ERROR,
                    "MWAA looks for '-c ' or '--constraint ' (with a space) and will not see this "
                    "constraint line; it adds its own and pip gets two: write '--constraint \"URL\"'",
                    path,
                    options[0].lineno,
                )
            )
        elif any(line.is_option and line.text.split()[0] == "--no-index" for line in lines):
            # Offline installs: the guide leaves the line out and MWAA applies its image's file.
            findings.append(
                Finding(
                    "requirements.constraint-image",
                    Severity.INFO,
                    "no constraint line with --no-index: MWAA applies the constraints file of its image",
                    path,
                    1,
                )
            )
        else:
            findings.append(
                Finding(
                    "requirements.constraint-missing",
                    Severity.ERROR,
                    f'no constraint line: add --constraint "{expected}" as the first line',
                    path,
                    1,
                )
            )
        return findings
    for line in options:
        match = _CONSTRAINT_OPTION.match(line.text)
        assert match is not None
        value = match.group("value").strip("\"'")
        url = _CONSTRAINT_URL.search(value)
        if url is None:
            findings.append(
                Finding(
                    "requirements.constraint-custom",
                    Severity.WARNING,
                    f"constraint file {value!r} is not an Airflow constraints URL; make sure it is "
                    f"derived from {expected}",
                    path,
                    line.lineno,
                )
            )
            continue
        if url.group("airflow") != airflow_version or url.group("python") != python:
            findings.append(
                Finding(
                    "requirements.constraint-mismatch",
                    Severity.ERROR,
                    f"constraint line is for Airflow {url.group('airflow')} / Python {url.group('python')}, "
                    f"the environment runs Airflow {airflow_version} / Python {python}: use {expected}",
                    path,
                    line.lineno,
                )
            )
    return findings


def _check_pins(lines: list[RequirementLine], airflow_version: str, path: str) -> list[Finding]:
    findings: list[Finding] = []
    essential = essential_pins(airflow_version)
    constrained = airflow_constraints(airflow_version)
    for line in lines:
        if line.error is not None:
            findings.append(
                Finding(
                    "requirements.invalid-line",
                    Severity.ERROR,
                    f"pip cannot parse this line: {line.error}",
                    path,
                    line.lineno,
                )
            )
            continue
        req = line.requirement
        if req is None:
            continue
        name = canonicalize_name(req.name)
        spec = req.specifier
        if name == "apache-airflow":
            pinned = essential.get(name, airflow_version)
            if not any(s.operator in ("==", "===") for s in spec):
                findings.append(
                    Finding(
                        "requirements.airflow-unpinned",
                        Severity.ERROR,
                        f"{req} lets pip pick another Airflow: pin apache-airflow=={pinned} or leave it out",
                        path,
                        line.lineno,
                    )
                )
            elif not spec.contains(pinned, prereleases=True):
                findings.append(
                    Finding(
                        "requirements.essential-pin",
                        Severity.ERROR,
                        f"{req} changes the Airflow version; the environment runs apache-airflow=={pinned}",
                        path,
                        line.lineno,
                    )
                )
            continue
        if name in essential:
            pinned = essential[name]
            if not spec.contains(pinned, prereleases=True):
                findings.append(
                    Finding(
                        "requirements.essential-pin",
                        Severity.ERROR,
                        f"{req} would change {name}=={pinned}, one of MWAA's essential pins that "
                        "cannot be overridden",
                        path,
                        line.lineno,
                    )
                )
            else:
                findings.append(
                    Finding(
                        "requirements.preinstalled",
                        Severity.INFO,
                        f"{name} is pinned by MWAA ({pinned}); this line can go",
                        path,
                        line.lineno,
                    )
                )
            continue
        if name in constrained:
            if not spec.contains(constrained[name], prereleases=True):
                findings.append(
                    Finding(
                        "requirements.constraint-conflict",
                        Severity.ERROR,
                        f"{req} conflicts with the constraints file ({name}=={constrained[name]}); pip will "
                        "refuse to install",
                        path,
                        line.lineno,
                    )
                )
            continue
        if not any(s.operator in ("==", "===") for s in spec) and req.url is None:
            findings.append(
                Finding(
                    "requirements.unpinned",
                    Severity.WARNING,
                    f"{req} is not pinned with == and not in the constraints: every update installs the "
                    "newest release",
                    path,
                    line.lineno,
                )
            )
    return findings


def _check_index_lines(lines: list[RequirementLine], path: str) -> list[Finding]:
    findings: list[Finding] = []
    for line in lines:
        match = _INDEX_OPTION.match(line.text)
        if match is None:
            continue
        opt, value = match.group("opt"), match.group("value").strip("\"'")
        if opt == "--no-index":
            findings.append(
                Finding(
                    "requirements.no-index",
                    Severity.INFO,
                    "--no-index: every package (and its dependencies) must be in a --find-links folder, "
                    "e.g. wheels in plugins.zip",
                    path,
                    line.lineno,
                )
            )
            continue
        if opt == "--trusted-host":
            findings.append(
                Finding(
                    "requirements.trusted-host",
                    Severity.WARNING,
                    f"--trusted-host {value} turns off TLS verification for that host",
                    path,
                    line.lineno,
                )
            )
            continue
        parts = urlsplit(value)
        host = parts.hostname or value
        if parts.password and not _ENV_REF.search(parts.password):
            findings.append(
                Finding(
                    "requirements.index-credentials",
                    Severity.ERROR,
                    f"{opt} for {host} has a literal password in the file: use ${{AIRFLOW__...}} "
                    "references to configuration options, or a startup script",
                    path,
                    line.lineno,
                )
            )
        if parts.scheme == "http":
            findings.append(
                Finding(
                    "requirements.index-http",
                    Severity.WARNING,
                    f"{opt} {host} uses plain http",
                    path,
                    line.lineno,
                )
            )
        if opt == "--extra-index-url":
            findings.append(
                Finding(
                    "requirements.extra-index",
                    Severity.WARNING,
                    f"--extra-index-url {host}: pip picks the highest version from PyPI and {host} alike "
                    "(dependency confusion); prefer --index-url pointing at a proxy of PyPI",
                    path,
                    line.lineno,
                )
            )
        elif parts.scheme in ("http", "https"):
            findings.append(
                Finding(
                    "requirements.private-index",
                    Severity.INFO,
                    f"{opt} {host}: every scheduler, worker and web server must reach it (a private web "
                    "server has no internet access)",
                    path,
                    line.lineno,
                )
            )
    return findings


# -- resolver dry run --------------------------------------------------------------------------


# MWAA's workers: Linux x86_64 with glibc 2.26 (Amazon Linux 2) or newer; manylinux2014 wheels
# (glibc 2.17) install on every one of them.
MWAA_UV_PLATFORM = "x86_64-manylinux2014"
MWAA_PIP_PLATFORM = "manylinux2014_x86_64"


def _has_pip() -> bool:
    import importlib.util

    return importlib.util.find_spec("pip") is not None


def resolve(
    text: str,
    airflow_version: str,
    *,
    path: str = "requirements.txt",
    timeout: float = RESOLVE_TIMEOUT,
    resolver: str | None = None,
) -> list[Finding]:
    """Ask a real resolver whether the file installs under MWAA's constraints (nothing is installed).

    The user's own constraint lines are replaced by the shipped copies of MWAA's lists (the
    constraints URL would be fetched from GitHub otherwise). The resolution is for MWAA's
    platform and Python (Linux x86_64, manylinux2014; Python 3.11 or 3.12), not for the machine
    the check runs on: ``uv pip compile --python-platform --python-version``, or with
    ``resolver="pip"`` ``pip install --dry-run --platform --python-version`` (wheels only).

    :param resolver: ``"uv"`` or ``"pip"``; None: uv (the one resolver that targets another
        platform with source distributions too)
    """
    _check_version(airflow_version)
    kept = [
        raw if not MWAA_CONSTRAINT_PATTERN.search(raw) and not _CONSTRAINT_OPTION.match(raw) else ""
        for raw in text.splitlines()
    ]
    chosen = resolver or "uv"
    if chosen not in ("uv", "pip"):
        raise UsageError(f"unknown resolver {chosen!r}: use uv or pip")
    uv = find_uv() if chosen == "uv" else None
    missing = None
    if chosen == "uv" and uv is None:
        missing = "uv is not installed (pip install uv, or https://docs.astral.sh/uv/)"
    elif chosen == "pip" and not _has_pip():
        missing = f"pip is not installed for {sys.executable} (python -m ensurepip, or use uv)"
    if missing:
        return [
            Finding(
                "requirements.resolver-missing",
                Severity.ERROR,
                f"cannot resolve for MWAA: {missing}",
                path,
            )
        ]
    python = python_version_for(airflow_version)
    with tempfile.TemporaryDirectory(prefix="mwaa-extras-resolve-") as tmp:
        req_file = Path(tmp, "requirements.txt")
        req_file.write_text("\n".join(kept) + "\n", encoding="utf-8")
        constraints = [
            constraints_file(airflow_version),
            constraints_file(airflow_version, "mwaa_essential_constraints.txt"),
        ]
        if uv is not None:
            cmd = [uv, "pip", "compile", "--quiet", "--no-header", "--python-version", python]
            cmd += ["--python-platform", MWAA_UV_PLATFORM]
            for c in constraints:
                cmd += ["-c", str(c)]
            cmd += [str(req_file), "-o", str(Path(tmp, "resolved.txt"))]
        else:
            cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
            cmd += ["--disable-pip-version-check", "--only-binary=:all:", "--implementation", "cp"]
            cmd += ["--platform", MWAA_PIP_PLATFORM, "--python-version", python]
            for c in constraints:
                cmd += ["-c", str(c)]
            cmd += ["-r", str(req_file)]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, check=False, env=os.environ.copy()
            )
        except subprocess.TimeoutExpired:
            return [
                Finding(
                    "requirements.resolve-timeout",
                    Severity.ERROR,
                    f"the resolver ({chosen}) did not finish in {timeout:.0f} s; MWAA gives up after about 10 "
                    "minutes",
                    path,
                )
            ]
    if proc.returncode == 0:
        return []
    detail = _resolver_error(proc.stderr or proc.stdout)
    return [
        Finding(
            "requirements.resolve-conflict",
            Severity.ERROR,
            f"{chosen} cannot install this file under MWAA's constraints: {detail}",
            path,
        )
    ]


def _resolver_error(output: str) -> str:
    # Keep the explanation, drop hints and blank lines; one line for the report.
    keep = [
        line.strip()
        for line in output.splitlines()
        if line.strip() and not line.strip().startswith(("hint:", "help:", "[notice]"))
    ]
    text = " ".join(keep)
    text = re.sub(r"https?://[^\s@/]+:[^\s@/]+@", "https://***@", text)  # no index credentials
    return text[:800] or "no output"


def default_airflow_version(given: str | None) -> str:
    """``given``, else the installed Airflow's version when its constraint lists ship with us."""
    if given:
        return _check_version(given)
    from importlib import metadata

    for dist in ("apache-airflow", "apache-airflow-core"):
        try:
            installed = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
        if installed in supported_versions():
            return installed
    raise UsageError(f"give --airflow-version (one of {', '.join(supported_versions())})")
