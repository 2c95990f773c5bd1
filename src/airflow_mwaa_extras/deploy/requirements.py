"""Check a ``requirements.txt`` the way MWAA will install it, before a 10-30 minute update fails.

MWAA installs the file with ``pip install -r`` under a constraints file. It detects the user's
constraint line with the pattern ``-c `` / ``--constraint `` anywhere on a line (and inserts its
own when there is none), never lets the user change its *essential* pins, and gives up after
about 9 to 10 minutes. MWAA's lists for each supported Airflow version ship with this package
and are read by :mod:`~airflow_mwaa_extras.deploy.mwaa_data`, so the checks work offline; the
file is read by :mod:`~airflow_mwaa_extras.deploy.requirements_file`. Every finding's id,
severity and message live in one table, :data:`CHECKS`.

About 380 lines: most of it is that table, kept beside the rules that use it so a check's
wording is read with its condition.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from airflow_mwaa_extras.deploy import mwaa_data
from airflow_mwaa_extras.deploy.report import CheckTable, Finding, Severity
from airflow_mwaa_extras.deploy.requirements_file import RequirementLine, parse_requirements
from airflow_mwaa_extras.deploy.uv import find_uv
from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.processes import run_captured

__all__ = [
    "CHECKS",
    "MWAA_CONSTRAINT_PATTERN",
    "RESOLVE_TIMEOUT",
    "check_requirements",
    "resolve",
    "resolver_error",
]

# What MWAA's installer greps for; note the trailing space: `--constraint=URL` is not detected.
MWAA_CONSTRAINT_PATTERN = re.compile(r"(-c |--constraint )")
_CONSTRAINT_OPTION = re.compile(r"^\s*(?:-c|--constraint)(?:\s*=\s*|\s+)(?P<value>\S+)")
_INDEX_OPTION = re.compile(
    r"^\s*(?P<opt>-i|--index-url|--extra-index-url|-f|--find-links|--trusted-host|--no-index)\b(?:\s*=\s*|\s+)?(?P<value>\S*)"
)
_ENV_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
RESOLVE_TIMEOUT = 300.0
_ERROR, _WARNING, _INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

# key -> (check id after "requirements.", severity, message template filled by str.format).
CHECKS: dict[str, tuple[Severity, str] | tuple[str, Severity, str]] = {
    "constraint-not-detected": (
        _ERROR,
        "MWAA looks for '-c ' or '--constraint ' (with a space) and will not see this constraint "
        "line; it adds its own and pip gets two: write '--constraint \"URL\"'",
    ),
    # Offline installs: the guide leaves the line out and MWAA applies its image's file.
    "constraint-image": (
        _INFO,
        "no constraint line with --no-index: MWAA applies the constraints file of its image",
    ),
    "constraint-missing": (
        _ERROR,
        'no constraint line: add --constraint "{expected}" as the first line',
    ),
    "constraint-custom": (
        _WARNING,
        "constraint file {value!r} is not an Airflow constraints URL; make sure it is derived from {expected}",
    ),
    "constraint-mismatch": (
        _ERROR,
        "constraint line is for Airflow {airflow} / Python {python}, the environment runs Airflow "
        "{want_airflow} / Python {want_python}: use {expected}",
    ),
    "invalid-line": (_ERROR, "pip cannot parse this line: {error}"),
    "airflow-unpinned": (
        _ERROR,
        "{req} lets pip pick another Airflow: pin apache-airflow=={pinned} or leave it out",
    ),
    "airflow-changed": (
        "essential-pin",
        _ERROR,
        "{req} changes the Airflow version; the environment runs apache-airflow=={pinned}",
    ),
    "essential-pin": (
        _ERROR,
        "{req} would change {name}=={pinned}, one of MWAA's essential pins that cannot be overridden",
    ),
    "preinstalled": (_INFO, "{name} is pinned by MWAA ({pinned}); this line can go"),
    "constraint-conflict": (
        _ERROR,
        "{req} conflicts with the constraints file ({name}=={pinned}); pip will refuse to install",
    ),
    "unpinned": (
        _WARNING,
        "{req} is not pinned with == and not in the constraints: every update installs the newest release",
    ),
    "no-index": (
        _INFO,
        "--no-index: every package (and its dependencies) must be in a --find-links folder, "
        "e.g. wheels in plugins.zip",
    ),
    "trusted-host": (
        _WARNING,
        "--trusted-host {value} turns off TLS verification for that host",
    ),
    "index-credentials": (
        _ERROR,
        "{opt} for {host} has a literal password in the file: use ${{AIRFLOW__...}} references to "
        "configuration options, or a startup script",
    ),
    "index-http": (_WARNING, "{opt} {host} uses plain http"),
    "extra-index": (
        _WARNING,
        "--extra-index-url {host}: pip picks the highest version from PyPI and {host} alike "
        "(dependency confusion); prefer --index-url pointing at a proxy of PyPI",
    ),
    "private-index": (
        _INFO,
        "{opt} {host}: every scheduler, worker and web server must reach it (a private web server "
        "has no internet access)",
    ),
    "resolver-missing": (_ERROR, "cannot resolve for MWAA: {missing}"),
    "resolve-timeout": (
        _ERROR,
        "the resolver ({resolver}) did not finish in {timeout:.0f} s; MWAA gives up after about 10 minutes",
    ),
    "resolve-conflict": (
        _ERROR,
        "{resolver} cannot install this file under MWAA's constraints: {detail}",
    ),
}


_finding = CheckTable("requirements", CHECKS).finding


# -- checks ------------------------------------------------------------------------------------


def check_requirements(
    text: str, airflow_version: str, *, path: str = "requirements.txt", python_version: str | None = None
) -> list[Finding]:
    """Every static check of one requirements file; see the module docstring for the rules."""
    mwaa_data.check_version(airflow_version)
    python = python_version or mwaa_data.python_version_for(airflow_version)
    lines = parse_requirements(text)
    findings: list[Finding] = []
    findings += _check_constraint_line(text, lines, airflow_version, python, path)
    findings += _check_pins(lines, airflow_version, path)
    findings += _check_index_lines(lines, path)
    return findings


def _check_constraint_line(
    text: str, lines: list[RequirementLine], airflow_version: str, python: str, path: str
) -> list[Finding]:
    detected = any(MWAA_CONSTRAINT_PATTERN.search(raw) for raw in text.splitlines())
    options = [line for line in lines if _CONSTRAINT_OPTION.match(line.text)]
    expected = mwaa_data.expected_constraint_url(airflow_version)
    if not detected:
        if options:
            return [_finding("constraint-not-detected", path, options[0].lineno)]
        if any(line.is_option and line.text.split()[0] == "--no-index" for line in lines):
            return [_finding("constraint-image", path, 1)]
        return [_finding("constraint-missing", path, 1, expected=expected)]
    findings: list[Finding] = []
    for line in options:
        match = _CONSTRAINT_OPTION.match(line.text)
        assert match is not None
        value = match.group("value").strip("\"'")
        named = mwaa_data.constraint_url_versions(value)
        if named is None:
            findings.append(_finding("constraint-custom", path, line.lineno, value=value, expected=expected))
        elif named != (airflow_version, python):
            findings.append(
                _finding(
                    "constraint-mismatch",
                    path,
                    line.lineno,
                    airflow=named[0],
                    python=named[1],
                    want_airflow=airflow_version,
                    want_python=python,
                    expected=expected,
                )
            )
    return findings


def _pinned_exactly(line: RequirementLine) -> bool:
    assert line.requirement is not None
    return any(s.operator in ("==", "===") for s in line.requirement.specifier)


def _pin_finding(
    line: RequirementLine, airflow_version: str, essential: dict[str, str], constrained: dict[str, str]
) -> tuple[str, dict[str, object]] | None:
    """The finding key and its values for one requirement line, or None when all is well."""
    req = line.requirement
    assert req is not None
    name = canonicalize_name(req.name)
    values: dict[str, object] = {"req": req, "name": name}
    if name == "apache-airflow":
        values["pinned"] = essential.get(name, airflow_version)
        if not _pinned_exactly(line):
            return "airflow-unpinned", values
        if not req.specifier.contains(str(values["pinned"]), prereleases=True):
            return "airflow-changed", values
        return None
    if name in essential:
        values["pinned"] = essential[name]
        fits = req.specifier.contains(essential[name], prereleases=True)
        return ("preinstalled" if fits else "essential-pin"), values
    if name in constrained:
        values["pinned"] = constrained[name]
        fits = req.specifier.contains(constrained[name], prereleases=True)
        return None if fits else ("constraint-conflict", values)
    if not _pinned_exactly(line) and req.url is None:
        return "unpinned", values
    return None


def _check_pins(lines: list[RequirementLine], airflow_version: str, path: str) -> list[Finding]:
    findings: list[Finding] = []
    essential = mwaa_data.essential_pins(airflow_version)
    constrained = mwaa_data.airflow_constraints(airflow_version)
    for line in lines:
        if line.error is not None:
            findings.append(_finding("invalid-line", path, line.lineno, error=line.error))
        elif line.requirement is not None:
            found = _pin_finding(line, airflow_version, essential, constrained)
            if found is not None:
                findings.append(_finding(found[0], path, line.lineno, **found[1]))
    return findings


def _index_finding_keys(opt: str, value: str) -> list[tuple[str, dict[str, object]]]:
    if opt == "--no-index":
        return [("no-index", {})]
    if opt == "--trusted-host":
        return [("trusted-host", {"value": value})]
    parts = urlsplit(value)
    values: dict[str, object] = {"opt": opt, "host": parts.hostname or value}
    keys: list[str] = []
    if parts.password and not _ENV_REF.search(parts.password):
        keys.append("index-credentials")
    if parts.scheme == "http":
        keys.append("index-http")
    if opt == "--extra-index-url":
        keys.append("extra-index")
    elif parts.scheme in ("http", "https"):
        keys.append("private-index")
    return [(key, values) for key in keys]


def _check_index_lines(lines: list[RequirementLine], path: str) -> list[Finding]:
    findings: list[Finding] = []
    for line in lines:
        match = _INDEX_OPTION.match(line.text)
        if match is None:
            continue
        opt, value = match.group("opt"), match.group("value").strip("\"'")
        for key, values in _index_finding_keys(opt, value):
            findings.append(_finding(key, path, line.lineno, **values))
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
    mwaa_data.check_version(airflow_version)
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
        return [_finding("resolver-missing", path, missing=missing)]
    python = mwaa_data.python_version_for(airflow_version)
    with tempfile.TemporaryDirectory(prefix="mwaa-extras-resolve-") as tmp:
        req_file = Path(tmp, "requirements.txt")
        req_file.write_text("\n".join(kept) + "\n", encoding="utf-8")
        constraints = [
            mwaa_data.constraints_file(airflow_version),
            mwaa_data.constraints_file(airflow_version, mwaa_data.ESSENTIAL_CONSTRAINTS),
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
            proc = run_captured(cmd, timeout=timeout, env=os.environ.copy())
        except subprocess.TimeoutExpired:
            return [_finding("resolve-timeout", path, resolver=chosen, timeout=timeout)]
    if proc.returncode == 0:
        return []
    detail = resolver_error(proc.stderr or proc.stdout)
    return [_finding("resolve-conflict", path, resolver=chosen, detail=detail)]


def resolver_error(output: str) -> str:
    """A resolver's (pip's or uv's) failure as one line: hints dropped, index credentials masked."""
    keep = [
        line.strip()
        for line in output.splitlines()
        if line.strip() and not line.strip().startswith(("hint:", "help:", "[notice]"))
    ]
    text = " ".join(keep)
    text = re.sub(r"https?://[^\s@/]+:[^\s@/]+@", "https://***@", text)  # no index credentials
    return text[:800] or "no output"
