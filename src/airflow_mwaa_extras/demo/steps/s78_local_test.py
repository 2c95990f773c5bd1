"""``mwaa-extras local test`` on the sample project: MWAA's environment without Docker, then a
seeded defect that MWAA would only report after a 20-minute update."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from airflow_mwaa_extras.demo.runner import DemoContext, DemoStepError
from airflow_mwaa_extras.deploy.mwaa_data import default_airflow_version, expected_constraint_url
from airflow_mwaa_extras.processes import run_captured

ORDER = 78
TITLE = "Local test: the sample project in MWAA's environment, then a reserved variable in startup.sh"

SAMPLE = Path(__file__).resolve().parents[4] / "examples" / "local_project"


def _local_test(project: Path, version: str, *dag_ids: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    cmd = [sys.executable, "-m", "airflow_mwaa_extras", "local", "test", str(project)]
    cmd += ["--airflow-version", version, *dag_ids]
    proc = run_captured(cmd, timeout=1200)
    return proc, time.monotonic() - started


def run(ctx: DemoContext) -> None:
    if not SAMPLE.is_dir():
        ctx.say("the sample project (examples/local_project) ships with the source checkout only: skipped")
        return
    version = default_airflow_version(None)
    project = ctx.workdir / "local_project"
    shutil.copytree(SAMPLE, project)
    req = project / "requirements.txt"
    req.write_text(re.sub(r'"https://[^"]+"', f'"{expected_constraint_url(version)}"', req.read_text()))

    for attempt in ("first run", "second run (cached environment)"):
        proc, seconds = _local_test(project, version, "local_sample")
        if proc.returncode != 0:
            raise DemoStepError(
                f"local test of the sample project failed:\n{proc.stdout}\n{proc.stderr[-1500:]}"
            )
        ctx.say(
            f"mwaa-extras local test local_project local_sample --airflow-version {version}: {attempt}, {seconds:.1f} s"
        )
    for line in proc.stdout.splitlines():
        ctx.say(f"  {line}")

    script = project / "startup.sh"
    script.write_text(script.read_text() + "export AIRFLOW__CORE__PARALLELISM=64\n")
    proc, seconds = _local_test(project, version)
    if proc.returncode != 1 or "MWAA reserves" not in proc.stdout:
        raise DemoStepError(f"a reserved variable in startup.sh was not refused:\n{proc.stdout}")
    ctx.say(f"with AIRFLOW__CORE__PARALLELISM exported by startup.sh it fails in {seconds:.1f} s:")
    for line in proc.stdout.splitlines():
        if line.startswith("ERROR"):
            ctx.say(f"  {line}")
