"""``python -m airflow_mwaa_extras.testing.mwaa_standin`` stopped with SIGTERM (what CI runners and
process managers send) stops its warm Airflow CLI server processes too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.testing.airflow_home import AirflowHome


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_sigterm_stops_the_warm_cli_servers(airflow_home: AirflowHome) -> None:
    standin = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_mwaa_extras.testing.mwaa_standin",
            "--env",
            f"dev={airflow_home.path}",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=airflow_home.full_env(),
    )
    try:
        assert standin.stdout is not None
        assert standin.stdout.readline().startswith("MWAA stand-in on http://127.0.0.1:")
        exports = dict(
            standin.stdout.readline().removeprefix("export ").strip().split("=", 1) for _ in range(5)
        )
        client = MwaaEnvironmentClient(
            "dev", region_name="us-east-1", endpoint_url=exports["AWS_ENDPOINT_URL_MWAA"]
        )
        client.run(["variables", "list"])  # starts the warm CLI server
        children = psutil.Process(standin.pid).children(recursive=True)
        assert children, "the stand-in started no warm CLI server"
        standin.send_signal(signal.SIGTERM)
        assert standin.wait(timeout=60) == 0
        deadline = time.monotonic() + 30
        while any(_alive(child) for child in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [child.pid for child in children if _alive(child)] == []
    finally:
        if standin.poll() is None:
            os.kill(standin.pid, signal.SIGKILL)
            standin.wait(timeout=30)
