from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_mwaa_extras import __version__
from airflow_mwaa_extras.cli import main


def _console_script() -> str:
    # The console script installed beside this interpreter, as a user runs it.
    script = Path(sys.executable).parent / "mwaa-extras"
    assert script.exists(), "the mwaa-extras console script is not installed"
    return str(script)


def test_version_flag_prints_the_package_version() -> None:
    proc = subprocess.run([_console_script(), "--version"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"mwaa-extras {__version__}"


def test_help_lists_the_demo_subcommand() -> None:
    proc = subprocess.run([_console_script(), "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert "demo" in proc.stdout
    assert "usage: mwaa-extras" in proc.stdout


def test_python_dash_m_is_the_same_command() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "airflow_mwaa_extras", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout.strip() == f"mwaa-extras {__version__}"


def test_no_subcommand_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: mwaa-extras" in capsys.readouterr().out


def test_unknown_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_unknown_demo_step_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--only", "no_such_step"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "mwaa-extras: error: no demo step named no_such_step"
    assert "Traceback" not in err


def test_demo_list_names_every_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--list"]) == 0
    assert "s00_environment:" in capsys.readouterr().out


def test_console_script_is_on_path_of_the_venv() -> None:
    assert shutil.which("mwaa-extras", path=str(Path(sys.executable).parent))
