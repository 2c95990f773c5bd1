"""The configuration the local scheduler gives its processes (no process is started here)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

import pytest

from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.local_scheduler import LocalSchedulerError, scheduler_env
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_1_PLUS

if TYPE_CHECKING:
    from airflow_mwaa_extras.testing.local_rest_api import LocalRestApi


def _home(sql_alchemy_conn: str = "sqlite:////tmp/unused.db") -> AirflowHome:
    return AirflowHome(path=Path("/nonexistent"), sql_alchemy_conn=sql_alchemy_conn, env={})


def _api() -> LocalRestApi:
    return cast("LocalRestApi", SimpleNamespace(root_url="http://127.0.0.1:8080"))


def _option(env_name: str) -> tuple[str, str]:
    section, key = env_name.removeprefix("AIRFLOW__").lower().split("__", 1)
    return section, key


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="the Task Execution API exists on Airflow 3 only")
def test_airflow_3_tasks_reach_the_execution_api_with_a_generous_timeout() -> None:
    from airflow.configuration import conf

    env = scheduler_env(_home(), _api())
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8080/execution/"
    # more than Airflow's 5 s default, under a key this Airflow really has (3.1+; 3.0 has none)
    if AIRFLOW_V_3_1_PLUS:
        assert float(env["AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT"]) >= 30
    else:
        assert "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT" not in env
    for name in (n for n in env if n.startswith("AIRFLOW__")):
        section, key = _option(name)
        options = conf.configuration_description.get(section, {}).get("options", {})
        assert key in options, f"{name} is not an option of this Airflow"


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="the Task Execution API exists on Airflow 3 only")
def test_airflow_3_needs_the_rest_api() -> None:
    with pytest.raises(LocalSchedulerError, match="Task Execution API"):
        scheduler_env(_home())


@pytest.mark.skipif(AIRFLOW_V_3_0_PLUS, reason="Airflow 2 picks its executor from the metadata DB")
def test_airflow_2_executor_follows_the_metadata_db() -> None:
    assert scheduler_env(_home())["AIRFLOW__CORE__EXECUTOR"] == "SequentialExecutor"
    pg = _home("postgresql+psycopg2://u@127.0.0.1:5432/db")
    assert scheduler_env(pg)["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def test_the_executors_find_this_interpreters_airflow(monkeypatch: pytest.MonkeyPatch) -> None:
    # Airflow 2's SequentialExecutor runs `airflow tasks run` by name; a demo started as
    # .venv/bin/mwaa-extras (venv not activated) once left B's scheduler dead on FileNotFoundError.
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    env = scheduler_env(_home(), _api())
    found = shutil.which("airflow", path=env["PATH"])
    assert found is not None
    assert Path(found).parent == Path(sys.executable).parent
