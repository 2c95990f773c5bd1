"""The bulk example DAG runs (``airflow dags test``): variables and runs arrive in a second environment."""

from __future__ import annotations

import json
import uuid

import pytest

from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.mwaa_standin import start_mwaa_standin
from airflow_mwaa_extras.testing.mwaa_standin_target import count_runs, stored_variables
from tests.remote_envs import TARGET, RemoteEnv


@pytest.mark.slow
def test_example_bulk_dag_imports_and_triggers_in_the_other_environment(
    remote_env: RemoteEnv, airflow_home: AirflowHome
) -> None:
    remote = remote_env.home
    before = count_runs(remote, TARGET)
    tag = uuid.uuid4().hex[:6]
    conf = {
        "environment": "remote",
        "dag_id": TARGET,
        "variables": {f"example_bulk_{tag}_a": "x y", f"example_bulk_{tag}_b": {"n": 1}},
        "confs": [{"tag": tag, "n": 1}, {"tag": tag, "n": 2}],
    }
    with start_mwaa_standin({"remote": remote}) as standin:
        for _ in range(2):  # a retry of the task: nothing doubled
            proc = airflow_home.airflow(
                "dags",
                "test",
                "example_mwaa_extras_remote_bulk",
                "--conf",
                json.dumps(conf),
                check=False,
                timeout=900,
                extra_env=standin.env,
            )
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    output = proc.stdout + proc.stderr
    assert "0 triggered, 2 already there, 0 failed" in output
    assert count_runs(remote, TARGET) == before + 2
    assert stored_variables(remote, f"example_bulk_{tag}_") == {
        f"example_bulk_{tag}_a": "x y",
        f"example_bulk_{tag}_b": '{"n": 1}',
    }
