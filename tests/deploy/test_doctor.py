from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from airflow_mwaa_extras.cli import main
from airflow_mwaa_extras.deploy.doctor import DoctorOptions, run_doctor
from airflow_mwaa_extras.deploy.report import Severity
from airflow_mwaa_extras.exceptions import UsageError

PROJECTS = Path(__file__).resolve().parent / "projects"
# The example projects target MWAA 2.10.3; their DAGs parse with whichever Airflow runs the tests.
VERSION = "2.10.3"

# project folder -> the one error the doctor must find there
SEEDED = {
    "requirements_no_constraint": "requirements.constraint-missing",
    "requirements_wrong_constraint": "requirements.constraint-mismatch",
    "requirements_essential_pin": "requirements.essential-pin",
    "requirements_airflow_unpinned": "requirements.airflow-unpinned",
    "requirements_index_password": "requirements.index-credentials",
    "plugins_wrapping_folder": "plugins.wrapping-folder",
    "plugins_bad_permissions": "plugins.permissions",
    "plugins_syntax_error": "plugins.syntax-error",
    "plugins_missing_import": "plugins.missing-import",
    "plugins_reserved_variable": "plugins.reserved-variable",
    "config_lazy_load_plugins": "config.lazy-load-plugins",
    "startup_reserved_variable": "startup.reserved-variable",
    "startup_yum_update": "startup.yum-update-python",
    "dags_import_error": "dags.import-error",
    "dags_duplicate_id": "dags.duplicate-dag-id",
    "dags_queue_default_arg": "dags.queue-default-arg",
}


def errors(report_findings: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(f.check for f in report_findings if f.severity is Severity.ERROR)


def test_every_project_folder_is_listed() -> None:
    folders = {p.name for p in PROJECTS.iterdir() if p.is_dir()}
    assert folders == {*SEEDED, "clean"}


def test_clean_project_passes() -> None:
    report = run_doctor(PROJECTS / "clean", DoctorOptions(airflow_version=VERSION))
    assert report.findings == []
    assert report.checks_run == ["requirements", "plugins", "startup-script", "configuration", "dags"]
    assert report.exit_code == 0


@pytest.mark.parametrize("project", sorted(SEEDED))
def test_doctor_finds_the_seeded_defect(project: str) -> None:
    # Each folder is the clean project plus one defect; the DAG folder (identical to the clean
    # one elsewhere) is parsed only where the defect lives, as parsing costs seconds.
    options = DoctorOptions(airflow_version=VERSION, parse_dags=project.startswith("dags_"))
    report = run_doctor(PROJECTS / project, options)
    assert errors(report.findings) == [SEEDED[project]]
    assert report.exit_code == 1
    if project == "dags_duplicate_id":
        (finding,) = report.findings
        assert "greeting.py" in finding.message
        assert "greeting_copy.py" in finding.message
        assert str(PROJECTS) not in finding.message


def test_index_password_is_not_printed() -> None:
    report = run_doctor(PROJECTS / "requirements_index_password", DoctorOptions(VERSION, parse_dags=False))
    assert "s3cr3t-pa55" not in report.to_text()
    assert "s3cr3t-pa55" not in report.to_json()


def copy_project(tmp_path: Path, name: str = "clean") -> Path:
    target = tmp_path / name
    shutil.copytree(PROJECTS / name, target)
    return target


def test_task_level_queue_is_reported(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    dag = project / "dags" / "greeting.py"
    dag.write_text(dag.read_text().replace("@task\n", '@task(queue="gpu")\n'))
    report = run_doctor(project, DoctorOptions(VERSION))
    assert [(f.check, f.message.split(":")[0]) for f in report.findings] == [
        ("dags.task-queue", "DAG 'project_greeting'")
    ]


def test_parser_failure_is_a_finding(tmp_path: Path) -> None:
    # An interpreter without Airflow cannot parse the DAGs: say so instead of passing.
    python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    project = copy_project(tmp_path)
    report = run_doctor(project, DoctorOptions(VERSION, python=python, timeout=60))
    if python == sys.executable:
        pytest.skip("no interpreter without Airflow on this machine")
    assert [f.check for f in report.findings] == ["dags.parser-failed"]


def test_parse_timeout_is_a_finding(tmp_path: Path) -> None:
    # Importing Airflow alone takes longer than this.
    report = run_doctor(copy_project(tmp_path), DoctorOptions(VERSION, timeout=0.2))
    assert [f.check for f in report.findings] == ["dags.parse-timeout"]


def test_plugins_zip_built_from_the_clean_folder_passes(tmp_path: Path) -> None:
    from airflow_mwaa_extras.deploy.plugins_zip import build_plugins_zip

    project = copy_project(tmp_path)
    build_plugins_zip(project / "plugins", project / "plugins.zip")
    report = run_doctor(project, DoctorOptions(VERSION, parse_dags=False))
    assert [f.check for f in report.findings] == ["plugins.ambiguous"]
    shutil.rmtree(project / "plugins")
    assert run_doctor(project, DoctorOptions(VERSION, parse_dags=False)).findings == []


def test_vendored_zip_of_this_package_passes(tmp_path: Path) -> None:
    # Imports under TYPE_CHECKING (e.g. mypy_boto3_*) are not runtime requirements.
    from airflow_mwaa_extras.deploy.plugins_zip import build_plugins_zip

    project = copy_project(tmp_path)
    build_plugins_zip(project / "plugins", project / "plugins.zip", vendor_self=True)
    shutil.rmtree(project / "plugins")
    assert run_doctor(project, DoctorOptions(VERSION, parse_dags=False)).findings == []


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param({"core.lazy_load_plugins": "false"}, [], id="lowercase-false"),
        pytest.param({"core.lazy_load_plugins": "True"}, ["config.lazy-load-plugins"], id="true"),
        pytest.param(
            {"core.lazy_load_plugins": "False", "core.executor": "LocalExecutor"},
            ["config.reserved-option"],
            id="reserved-option",
        ),
        pytest.param(
            {"core.lazy_load_plugins": "False", "celery.worker_autoscale": "10,2"}, [], id="settable-option"
        ),
        pytest.param(
            {"core.lazy_load_plugins": "False", "lazy_load_plugins": "x"}, ["config.invalid-key"], id="key"
        ),
    ],
)
def test_configuration_checks(tmp_path: Path, config: dict[str, str], expected: list[str]) -> None:
    project = copy_project(tmp_path)
    (project / "airflow_configuration_options.json").write_text(json.dumps(config))
    report = run_doctor(project, DoctorOptions(VERSION, parse_dags=False))
    assert [f.check for f in report.findings] == expected


def test_lazy_load_plugins_does_not_matter_without_plugins(tmp_path: Path) -> None:
    project = copy_project(tmp_path, "config_lazy_load_plugins")
    shutil.rmtree(project / "plugins")
    assert run_doctor(project, DoctorOptions(VERSION, parse_dags=False)).findings == []


def test_invalid_config_json(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    (project / "airflow_configuration_options.json").write_text("{not json")
    checks = [f.check for f in run_doctor(project, DoctorOptions(VERSION, parse_dags=False)).findings]
    assert checks == ["config.invalid-json", "config.lazy-load-plugins"]


@pytest.mark.parametrize(
    "line",
    [
        'os.environ.setdefault("AWS_REGION", "x")',
        'os.environ.update({"AIRFLOW_HOME": "x"})',
        'os.environ.update(AIRFLOW_HOME="x")',
        'os.putenv("PYTHONUNBUFFERED", "0")',
        'environ["AIRFLOW__CORE__FERNET_KEY"] = "x"',
    ],
)
def test_plugins_writing_reserved_variables(tmp_path: Path, line: str) -> None:
    project = copy_project(tmp_path)
    (project / "plugins" / "extra.py").write_text(f"import os\nfrom os import environ\n\n{line}\n")
    findings = run_doctor(project, DoctorOptions(VERSION, parse_dags=False)).findings
    assert [(f.check, f.line) for f in findings] == [("plugins.reserved-variable", 4)]


def test_unreadable_inputs(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    shutil.rmtree(project / "plugins")
    (project / "plugins.zip").write_text("not a zip")
    findings = run_doctor(project, DoctorOptions(VERSION, parse_dags=False)).findings
    assert [f.check for f in findings] == ["plugins.unreadable"]
    (project / "requirements.txt").write_bytes(b"\xff\xfe")
    with pytest.raises(UsageError, match="cannot read requirements.txt as UTF-8"):
        run_doctor(project, DoctorOptions(VERSION, parse_dags=False))


def test_empty_folder_runs_and_names_what_is_missing(tmp_path: Path) -> None:
    report = run_doctor(tmp_path, DoctorOptions(VERSION))
    assert report.findings == []
    assert report.checks_run == ["configuration"]
    assert any("no requirements.txt" in n for n in report.notes)
    with pytest.raises(UsageError, match="project folder not found"):
        run_doctor(tmp_path / "missing", DoctorOptions(VERSION))


def test_cli_exit_codes_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["doctor", "--airflow-version", VERSION, "--no-dags"]
    assert main([*base, str(PROJECTS / "clean")]) == 0
    assert capsys.readouterr().out.startswith("OK: 0 error(s)")
    assert main([*base, "--format", "json", str(PROJECTS / "startup_reserved_variable")]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is False
    assert payload["findings"] == [
        {
            "check": "startup.reserved-variable",
            "severity": "error",
            "message": "AIRFLOW__CORE__PARALLELISM is reserved by MWAA: the value set here is reset",
            "path": "startup.sh",
            "line": 4,
        }
    ]
    assert main(["doctor", "--airflow-version", "2.10.99", str(PROJECTS / "clean")]) == 1
    assert "unknown MWAA Airflow version" in capsys.readouterr().err


def test_requirements_cli(capsys: pytest.CaptureFixture[str]) -> None:
    path = PROJECTS / "requirements_essential_pin" / "requirements.txt"
    assert main(["requirements", "check", str(path), "--airflow-version", VERSION]) == 1
    assert "requirements.txt:4: celery==5.3.6" in capsys.readouterr().out
    clean = PROJECTS / "clean" / "requirements.txt"
    assert main(["requirements", "check", str(clean), "--airflow-version", VERSION]) == 0
    capsys.readouterr()
    assert main(["requirements", "check", "/nonexistent.txt", "--airflow-version", VERSION]) == 1
    assert "requirements file not found" in capsys.readouterr().err
