"""``mwaa-extras local test``, run as a user runs it (a subprocess of the installed command).

The Airflow version is the one of this test environment (2.10.3 or 3.3.1 in the full CI legs);
every project that gets as far as the environment uses the same requirements.txt, so the
session builds one cached environment (``MWAA_EXTRAS_LOCAL_CACHE``) and the other runs reuse it.
Needs uv and PyPI (the uv cache makes it seconds once warm).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_mwaa_extras.deploy import local_project, mwaa_data
from tests.deploy.local_cli import (
    CLI,
    SAMPLE,
    VERSION,
    ctrl_c_stops_every_process,
    descendants,
    local_up,
    project_copy,
)

PROJECTS = Path(__file__).resolve().parent / "projects"


def _local_test(project: Path, cache: Path, *dag_ids: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MWAA_EXTRAS_LOCAL_CACHE": str(cache)}
    cmd = [CLI, "local", "test", str(project), "--airflow-version", VERSION, *dag_ids]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, check=False)


def test_essential_pin_is_refused_with_mwaas_reason_before_anything_is_built(
    tmp_path: Path, local_cache: Path
) -> None:
    text = (PROJECTS / "requirements_essential_pin" / "requirements.txt").read_text()
    text = text.replace("celery==5.3.6", "celery==5.3.0")  # below every version's essential pin
    project = project_copy(tmp_path, PROJECTS / "requirements_essential_pin", text)
    proc = _local_test(project, local_cache)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "celery==5.3.0 would change celery==" in proc.stdout
    assert "essential pins that cannot be overridden" in proc.stdout
    assert "uv cannot install this file" in proc.stdout
    assert "unsatisfiable" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert not any(local_cache.glob("*/ready")), "nothing may be built for a refused file"


@pytest.mark.slow
def test_sample_project_passes_and_the_second_run_reuses_the_environment(
    tmp_path: Path, local_cache: Path
) -> None:
    project = project_copy(tmp_path, SAMPLE)
    first = _local_test(project, local_cache, "local_sample")
    assert first.returncode == 0, first.stdout + first.stderr
    # the task asserts the startup script's export and the configuration option reached it
    assert "local_sample: airflow dags test succeeded" in first.stdout
    assert "not run on this machine (MWAA's image is Amazon Linux): yum -y install libaio" in first.stdout
    if mwaa_data.python_version_for(VERSION) != f"{sys.version_info[0]}.{sys.version_info[1]}":
        assert f"MWAA itself runs Airflow {VERSION} on Python 3.12" in first.stdout
    second = _local_test(project, local_cache, "local_sample")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "environment reused" in second.stderr


@pytest.mark.slow
def test_a_failing_dag_run_fails(tmp_path: Path, local_cache: Path) -> None:
    project = project_copy(tmp_path, SAMPLE)
    script = project / "startup.sh"
    script.write_text(script.read_text().replace("'dev'", "'prod'"))
    proc = _local_test(project, local_cache, "local_sample")
    assert proc.returncode == 1
    assert "startup.sh's export did not reach the task" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "plugins_missing_import",
            "plugins/excel_export.py: plugin failed to load: No module named 'openpyxl_turbo'",
        ),
        (
            "dags_import_error",
            "dags/report.py: ModuleNotFoundError: No module named 'tableau_extract_helpers'",
        ),
        ("startup_reserved_variable", "sets AIRFLOW__CORE__PARALLELISM, which MWAA reserves"),
        ("plugins_wrapping_folder", "everything is inside plugins/, which is not a Python package"),
        ("dags_duplicate_id", "duplicate DAG id"),
    ],
)
def test_failing_project_fails_with_mwaas_reason(
    tmp_path: Path, local_cache: Path, name: str, expected: str
) -> None:
    proc = _local_test(project_copy(tmp_path, PROJECTS / name), local_cache)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert expected in proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_an_install_pip_refuses_fails_with_uvs_error_and_leaves_no_cache_entry(
    tmp_path: Path, local_cache: Path
) -> None:
    text = '--constraint "URL"\nmwaa-extras-no-such-distribution==1.0\n'
    proc = _local_test(project_copy(tmp_path, SAMPLE, text), local_cache)
    assert proc.returncode == 1
    assert "Notice that MWAA enforces a list of critical packages" in proc.stdout
    assert "mwaa-extras-no-such-distribution" in proc.stdout
    entries = [p for p in local_cache.iterdir() if p.is_dir()]
    broken = [
        p
        for p in entries
        if (p / "requirements.txt").is_file() and "no-such" in (p / "requirements.txt").read_text()
    ]
    assert broken
    assert not any((p / "ready").exists() for p in broken)


# -- the startup script's semantics, without Airflow ------------------------------------------


def test_startup_script_exports_reach_airflow_plain_assignments_and_reserved_ones_do_not(
    tmp_path: Path,
) -> None:
    script = tmp_path / "startup.sh"
    script.write_text(
        "#!/bin/sh\nset -eu\nexport STAGE=dev\nLOCAL_ONLY=1\nexport AIRFLOW_HOME=/elsewhere\n"
        'export PATH="$PATH:/opt/tools"\necho "component=$MWAA_AIRFLOW_COMPONENT"\n'
        "sudo yum -y install libaio\n"
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AIRFLOW_HOME": str(tmp_path)}
    result = local_project.run_startup_script(script, env, tmp_path)
    assert result.returncode == 0, result.output
    assert result.exported["STAGE"] == "dev"
    assert "LOCAL_ONLY" not in result.exported
    assert result.exported["PATH"] == f"{os.environ['PATH']}:/opt/tools"
    assert result.reserved == ["AIRFLOW_HOME"]
    assert result.skipped == ["yum -y install libaio"]
    assert "component=scheduler" in result.output


def test_startup_script_time_limit(tmp_path: Path) -> None:
    script = tmp_path / "startup.sh"
    script.write_text("sleep 30\n")
    result = local_project.run_startup_script(script, {"PATH": os.environ["PATH"]}, tmp_path, timeout=1)
    assert result.timed_out


def test_configuration_options_become_airflow_variables() -> None:
    env = local_project.config_env({"core.lazy_load_plugins": "False", "celery.worker_autoscale": "5,5"})
    assert env == {"AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False", "AIRFLOW__CELERY__WORKER_AUTOSCALE": "5,5"}


# -- local up -----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_local_up_serves_the_ui_and_ctrl_c_stops_every_process(
    tmp_path: Path, local_cache: Path, db: str
) -> None:
    pg: list[str] = []
    dsn = os.environ.get("MWAA_EXTRAS_TEST_PG_DSN")
    if db == "postgres":
        if not dsn:
            pytest.skip("MWAA_EXTRAS_TEST_PG_DSN is not set")
        pg = ["--pg-dsn", dsn]
    with local_up(project_copy(tmp_path, SAMPLE), local_cache, *pg) as up:
        children = descendants(up.proc.pid)
        assert len(children) >= 2
        ctrl_c_stops_every_process(up.proc, children)
        if db == "postgres":
            (database,) = [line.split()[4] for line in up.lines if line.startswith("metadata DB: PostgreSQL")]
            assert database not in _local_databases(dsn or ""), "the metadata DB must be dropped on exit"


def test_a_requirement_without_a_wheel_for_mwaas_platform_is_named(tmp_path: Path) -> None:
    from airflow_mwaa_extras.deploy import local_env, mwaa_data

    text = f'--constraint "{mwaa_data.expected_constraint_url(VERSION)}"\ndocopt==0.6.2\n'  # sdist only
    warnings = local_env.no_wheel_warnings(text, VERSION, tmp_path)
    assert len(warnings) == 1
    assert "no wheel for MWAA's platform" in warnings[0]
    assert "docopt" in warnings[0]
    assert local_env.no_wheel_warnings(text.replace("docopt==0.6.2", "xmltodict"), VERSION, tmp_path) == []


def _local_databases(dsn: str) -> list[str]:
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE 'mwaa_extras_local_%%'")
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["local", "up", str(SAMPLE), "--port", "0"], "--port 0 is not a TCP port"),
        (["local", "up", str(SAMPLE), "--pg-dsn", "mysql://u@h/db"], "--pg-dsn must be a postgresql:// URL"),
        (["local", "test", "/nonexistent-project"], "project folder not found: /nonexistent-project"),
    ],
)
def test_bad_input_is_one_line(args: list[str], message: str) -> None:
    proc = subprocess.run(
        [CLI, *args, "--airflow-version", VERSION], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"mwaa-extras: error: {message}"
