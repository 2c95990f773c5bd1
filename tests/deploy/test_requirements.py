from __future__ import annotations

import sys
from pathlib import Path

import pytest

from airflow_mwaa_extras.deploy import requirements as req
from airflow_mwaa_extras.deploy.report import Severity
from airflow_mwaa_extras.deploy.uv import find_uv
from airflow_mwaa_extras.exceptions import UsageError

URL_2103 = "https://raw.githubusercontent.com/apache/airflow/constraints-2.10.3/constraints-3.11.txt"
HEADER = f'--constraint "{URL_2103}"\n'


def checks(text: str, version: str = "2.10.3") -> dict[str, Severity]:
    return {f.check: f.severity for f in req.check_requirements(text, version)}


def test_clean_file_has_no_findings() -> None:
    assert checks(HEADER + "humanize==4.11.0\napache-airflow==2.10.3\n") == {}


@pytest.mark.parametrize(
    ("line", "detected"),
    [
        pytest.param(f"--constraint {URL_2103}", True, id="long"),
        pytest.param(f"-c {URL_2103}", True, id="short"),
        pytest.param(f"  --constraint   '{URL_2103}'  # pinned", True, id="quoted-indented-comment"),
        pytest.param(f"--constraint={URL_2103}", False, id="equals-not-seen-by-mwaa"),
    ],
)
def test_constraint_line_detected_like_mwaa(line: str, detected: bool) -> None:
    found = checks(line + "\nhumanize==4.11.0\n")
    if detected:
        assert found == {}
    else:
        assert found == {"requirements.constraint-not-detected": Severity.ERROR}


def test_missing_constraint_line_is_an_error_naming_the_url() -> None:
    (finding,) = req.check_requirements("my-lib==1.0\n", "3.3.1")
    assert finding.check == "requirements.constraint-missing"
    assert "constraints-3.3.1/constraints-3.12.txt" in finding.message


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(URL_2103.replace("2.10.3", "2.9.3"), id="airflow"),
        pytest.param(URL_2103.replace("3.11.txt", "3.12.txt"), id="python"),
    ],
)
def test_constraint_for_another_version_is_an_error(url: str) -> None:
    assert checks(f"--constraint {url}\n") == {"requirements.constraint-mismatch": Severity.ERROR}


def test_custom_constraint_file_is_a_warning() -> None:
    text = '--constraint "/usr/local/airflow/dags/constraints-3.11-updated.txt"\n'
    assert checks(text) == {"requirements.constraint-custom": Severity.WARNING}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param("celery==5.3.6", {"requirements.essential-pin": Severity.ERROR}, id="essential-other"),
        pytest.param("SQLAlchemy>=2.0", {"requirements.essential-pin": Severity.ERROR}, id="essential-range"),
        pytest.param("celery==5.4.0", {"requirements.preinstalled": Severity.INFO}, id="essential-same"),
        pytest.param("apache-airflow", {"requirements.airflow-unpinned": Severity.ERROR}, id="airflow-bare"),
        pytest.param(
            "apache-airflow[amazon]>=2.9",
            {"requirements.airflow-unpinned": Severity.ERROR},
            id="airflow-range",
        ),
        pytest.param(
            "apache-airflow==2.11.2", {"requirements.essential-pin": Severity.ERROR}, id="airflow-other"
        ),
        pytest.param("requests==2.0.0", {"requirements.constraint-conflict": Severity.ERROR}, id="conflict"),
        pytest.param("requests", {}, id="constrained-unpinned-is-fine"),
        pytest.param("my-lib>=1.0", {"requirements.unpinned": Severity.WARNING}, id="unpinned"),
        pytest.param("my-lib==1.0 ; python_version >= '3.8'", {}, id="pinned-with-marker"),
        pytest.param("my lib ==", {"requirements.invalid-line": Severity.ERROR}, id="invalid"),
    ],
)
def test_pins(line: str, expected: dict[str, Severity]) -> None:
    assert checks(HEADER + line + "\n") == expected


def test_line_continuations_and_comments_keep_the_first_line_number() -> None:
    text = HEADER + "# a comment\n\nmy-lib \\\n  >=1.0  # trailing\n"
    (finding,) = req.check_requirements(text, "2.10.3")
    assert (finding.check, finding.line) == ("requirements.unpinned", 4)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(
            "--index-url https://${AIRFLOW__FOO__USER}:${AIRFLOW__FOO__PASS}@pypi.example.com/simple",
            {"requirements.private-index": Severity.INFO},
            id="index-with-references",
        ),
        pytest.param(
            "--index-url https://ci:hunter2@pypi.example.com/simple",
            {"requirements.index-credentials": Severity.ERROR, "requirements.private-index": Severity.INFO},
            id="literal-password",
        ),
        pytest.param(
            "--extra-index-url https://pypi.example.com/simple",
            {"requirements.extra-index": Severity.WARNING},
            id="extra-index",
        ),
        pytest.param(
            "-i http://pypi.example.com/simple",
            {"requirements.index-http": Severity.WARNING, "requirements.private-index": Severity.INFO},
            id="http",
        ),
        pytest.param(
            "--trusted-host pypi.example.com", {"requirements.trusted-host": Severity.WARNING}, id="trusted"
        ),
        pytest.param("--no-index", {"requirements.no-index": Severity.INFO}, id="no-index"),
    ],
)
def test_index_lines(line: str, expected: dict[str, Severity]) -> None:
    assert checks(HEADER + line + "\n") == expected


def test_literal_password_never_reaches_the_message() -> None:
    findings = req.check_requirements(
        HEADER + "--index-url https://ci:hunter2@pypi.example.com/simple\n", "2.10.3"
    )
    assert findings
    assert all("hunter2" not in f.message for f in findings)


def test_unknown_version_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown MWAA Airflow version '9.9.9'"):
        req.check_requirements("", "9.9.9")


needs_uv = pytest.mark.skipif(find_uv() is None, reason="uv is not installed")


def test_resolve_without_a_resolver_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A uv-made environment has no pip; that used to be reported as a resolve *conflict*.
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # no uv beside it
    if find_uv() is not None:
        pytest.skip("the uv Python package is installed here")
    (finding,) = req.resolve(HEADER + "six\n", "2.10.3", timeout=60)
    assert finding.check == "requirements.resolver-missing"
    assert finding.message.startswith("cannot resolve for MWAA: uv is not installed")
    assert "\n" not in finding.message


def test_pip_resolver_without_pip_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    if importlib.util.find_spec("pip") is not None:
        pytest.skip("pip is installed in this environment")
    (finding,) = req.resolve(HEADER + "six\n", "2.10.3", resolver="pip", timeout=60)
    assert finding.check == "requirements.resolver-missing"
    assert "pip is not installed for" in finding.message


@needs_uv
def test_resolve_targets_mwaa_python_not_this_machine() -> None:
    # A pin that conflicts with MWAA's constraints only on Python 3.12 (MWAA's 3.x environments).
    line = 'requests==2.0.0; python_version >= "3.12"\n'
    assert req.resolve(HEADER + line, "2.10.3", resolver="uv", timeout=120) == []
    (finding,) = req.resolve(line, "3.3.1", resolver="uv", timeout=120)
    assert finding.check == "requirements.resolve-conflict"


@needs_uv
def test_resolve_reports_a_conflict_with_the_constraints() -> None:
    (finding,) = req.resolve(HEADER + "requests==2.0.0\n", "2.10.3", resolver="uv", timeout=120)
    assert finding.check == "requirements.resolve-conflict"
    assert "requests" in finding.message


@needs_uv
def test_resolve_accepts_a_file_that_installs() -> None:
    # The user's constraint URL is replaced by the shipped copy: no fetch from GitHub.
    assert req.resolve(HEADER + "six\nflask==2.2.5\n", "2.10.3", resolver="uv", timeout=120) == []


@needs_uv
def test_resolve_timeout_is_a_finding() -> None:
    (finding,) = req.resolve("six\n", "2.10.3", resolver="uv", timeout=0.001)
    assert finding.check == "requirements.resolve-timeout"
