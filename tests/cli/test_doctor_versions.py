"""``mwaa-extras doctor --airflow-version X`` on an Airflow older than the oldest supported one."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_mwaa_extras.cli import main

CLEAN = Path(__file__).resolve().parents[1] / "deploy" / "projects" / "clean"


@pytest.mark.parametrize("version", ["2.8.4", "1.10.12", "2.0.2"])
def test_below_the_floor_is_said_up_front_in_one_line(
    version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--airflow-version", version, "--no-dags", str(CLEAN)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # no check ran: the first and only line says why
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(
        f"mwaa-extras: error: airflow-mwaa-extras supports Apache Airflow 2.9 and newer; found {version}: "
    )
    assert "its plugins register nothing" in lines[0]
    assert "2.9.2" in lines[0]


def test_the_oldest_mwaa_version_is_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--airflow-version", "2.9.2", "--no-dags", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "OK: 0 error(s)" in captured.out
    assert captured.err == ""
