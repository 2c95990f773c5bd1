"""Private web server: wheels in plugins.zip, built for MWAA's platform and installed offline."""

from __future__ import annotations

import sys
import time

from airflow_mwaa_extras.demo.runner import DemoContext, DemoStepError
from airflow_mwaa_extras.deploy import mwaa_data
from airflow_mwaa_extras.deploy.dag_folder import check_dag_folder
from airflow_mwaa_extras.deploy.doctor import DoctorOptions, run_doctor
from airflow_mwaa_extras.deploy.wheels import build_wheels_zip
from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.testing import offline_install

ORDER = 75
TITLE = "Private web server: wheels in plugins.zip, installed with no index reachable"

REQUIREMENTS = "xmltodict\nmmh3\nrequests-file\nhumanize\n"
SELF_IMPORT = "from airflow_mwaa_extras.operators.remote_dag_run import MwaaTriggerRemoteDagRunOperator\n"
SELF_TASK = (
    '    MwaaTriggerRemoteDagRunOperator(task_id="remote", environment_name="env", remote_dag_id="d")\n'
)
DAG = """from __future__ import annotations

import humanize
import mmh3
import requests_file
import xmltodict
from airflow import DAG
from airflow.operators.empty import EmptyOperator

from airflow_mwaa_extras.operators.remote_dag_run import MwaaTriggerRemoteDagRunOperator

assert xmltodict.parse("<a>1</a>") == {"a": "1"} and mmh3.hash("x") == mmh3.hash("x")
assert humanize.intcomma(1000) == "1,000" and requests_file.FileAdapter

with DAG("offline_wheels", schedule=None):
    EmptyOperator(task_id="start")
    MwaaTriggerRemoteDagRunOperator(task_id="remote", environment_name="env", remote_dag_id="d")
"""


def _version() -> str:
    """An MWAA version whose CPython is this interpreter (2.10.3 on 3.11), so pip can install."""
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    fitting = [v for v in mwaa_data.supported_versions() if mwaa_data.python_version_for(v) == here]
    if not fitting:
        raise DemoStepError(f"no MWAA version runs Python {here}")
    return "2.10.3" if "2.10.3" in fitting else fitting[-1]


def run(ctx: DemoContext) -> None:
    version = _version()
    project = ctx.workdir / "private_project"
    (project / "dags").mkdir(parents=True)
    (project / "dags" / "offline_wheels.py").write_text(DAG)
    source = project / "requirements.in"
    source.write_text(REQUIREMENTS)
    try:  # this package as its own wheel needs the source checkout (./dev demo has it)
        result = build_wheels_zip(source, version, project / "plugins.zip", include_self=True)
    except UsageError as err:
        ctx.say(f"without this package's own wheel: {err}")
        (project / "dags" / "offline_wheels.py").write_text(
            DAG.replace(SELF_IMPORT, "").replace(SELF_TASK, "")
        )
        result = build_wheels_zip(source, version, project / "plugins.zip")
    ctx.say(
        f"wheels build for MWAA {version}: {len(result.added)} wheels, "
        f"{result.zip_size / 1024:.0f} KiB zip in {result.seconds:.1f} s"
    )
    for _pkg, wheel, _size in result.added:
        ctx.say(f"  + {wheel.filename}")
    ctx.say("  left out (MWAA has them): " + ", ".join(f"{n}=={v}" for n, v in result.left_out))

    report = run_doctor(project, DoctorOptions(airflow_version=version, parse_dags=False))
    if report.has_errors:
        raise DemoStepError("doctor found errors in the built project:\n" + report.to_text())
    ctx.say("doctor: the --no-index requirements.txt finds every wheel in plugins.zip")

    started = time.monotonic()
    python = offline_install.mwaa_base_environment(version, ctx.workdir / "mwaa-base")
    ctx.say(f"fresh environment with MWAA {version}'s base install ({time.monotonic() - started:.1f} s)")
    done = offline_install.install_offline(
        python, result.zip_path, result.requirements_path, version, ctx.workdir
    )
    if done.returncode != 0:
        raise DemoStepError(f"pip install --no-index failed:\n{done.output[-1500:]}")
    if done.moved:
        raise DemoStepError(f"the install moved MWAA pins: {sorted(done.moved)}")
    ctx.say(
        f"pip install --no-index, index at {offline_install.UNREACHABLE_INDEX}: added {sorted(done.added)}"
    )
    ctx.say("no package of MWAA's base install changed")
    findings = check_dag_folder(project / "dags", None, python=str(python))
    if findings:
        raise DemoStepError(f"the DAG importing every requirement does not parse: {findings[0].message}")
    ctx.say("a DAG importing every requirement parses in that environment")
