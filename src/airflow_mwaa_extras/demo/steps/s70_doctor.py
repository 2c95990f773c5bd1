"""``mwaa-extras doctor`` on a clean MWAA project folder, then on the same folder with seeded defects."""

from __future__ import annotations

import json
import time
from pathlib import Path

from airflow_mwaa_extras.demo.runner import DemoContext, DemoStepError
from airflow_mwaa_extras.deploy.doctor import CONFIG_FILE, DoctorOptions, run_doctor
from airflow_mwaa_extras.deploy.mwaa_data import default_airflow_version, expected_constraint_url
from airflow_mwaa_extras.deploy.plugins_zip import build_plugins_zip, check_plugins

ORDER = 70
TITLE = "Deployment doctor: a clean project passes, seeded defects are found"

DAG = '''"""A DAG of the demo project."""

from __future__ import annotations

import pendulum

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task

with DAG(
    dag_id="doctor_demo",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    default_args={DEFAULT_ARGS},
):

    @task
    def hello() -> str:
        return "hello"

    hello()
'''

PLUGIN = """from __future__ import annotations

import os

from airflow.plugins_manager import AirflowPlugin

os.environ["ORACLE_CLIENT_HOME"] = "/usr/local/airflow/plugins/instantclient"


class DemoPlugin(AirflowPlugin):
    name = "doctor_demo_plugin"
"""


def _write_project(root: Path, version: str) -> None:
    (root / "dags").mkdir(parents=True)
    (root / "plugins").mkdir()
    (root / "dags" / "demo.py").write_text(DAG.replace("{DEFAULT_ARGS}", '{"retries": 1}'))
    (root / "plugins" / "demo_plugin.py").write_text(PLUGIN)
    (root / "requirements.txt").write_text(f'--constraint "{expected_constraint_url(version)}"\n')
    (root / "startup.sh").write_text("#!/bin/sh\nset -eu\nexport ENVIRONMENT_STAGE='demo'\n")
    (root / CONFIG_FILE).write_text(json.dumps({"core.lazy_load_plugins": "False"}))


def run(ctx: DemoContext) -> None:
    version = default_airflow_version(None)
    project = ctx.workdir / "doctor-project"
    _write_project(project, version)
    zip_path = build_plugins_zip(project / "plugins", ctx.workdir / "plugins.zip").path
    if check_plugins(zip_path):
        raise DemoStepError("the plugins.zip built from the demo plugins has findings")
    ctx.say(f"plugins build: {zip_path.name} has its files at the top level, 755, no findings")

    start = time.monotonic()
    clean = run_doctor(project, DoctorOptions(airflow_version=version))
    ctx.say(f"doctor on the clean project ({time.monotonic() - start:.1f} s): {clean.to_text()}")
    if clean.findings:
        raise DemoStepError("the doctor reported findings on the clean project")

    # Seed three defects: a queue in default_args, a reserved variable, lazy plugin loading.
    (project / "dags" / "demo.py").write_text(DAG.replace("{DEFAULT_ARGS}", '{"queue": "big"}'))
    with (project / "startup.sh").open("a") as script:
        script.write("export AIRFLOW__CORE__EXECUTOR=LocalExecutor\n")
    (project / CONFIG_FILE).write_text("{}")
    seeded = run_doctor(project, DoctorOptions(airflow_version=version))
    ctx.say("doctor on the seeded project:\n  " + seeded.to_text().replace("\n", "\n  "))
    expected = {"dags.queue-default-arg", "startup.reserved-variable", "config.lazy-load-plugins"}
    if seeded.checks() != expected or seeded.exit_code != 1:
        raise DemoStepError(f"expected {sorted(expected)}, the doctor found {sorted(seeded.checks())}")
