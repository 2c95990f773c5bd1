"""The example DAG runs (``airflow dags test``) and triggers a DAG in a second environment."""

from __future__ import annotations

import json

import pytest

from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.mwaa_standin import start_mwaa_standin
from airflow_mwaa_extras.testing.mwaa_standin_target import count_runs
from tests.remote_envs import TARGET, RemoteEnv


@pytest.mark.slow
def test_example_dag_triggers_in_the_other_environment(
    remote_env: RemoteEnv, airflow_home: AirflowHome
) -> None:
    remote = remote_env.home
    before = count_runs(remote, TARGET)
    conf = {
        "environment": "remote",
        "dag_id": TARGET,
        "conf": {"hello": "it's me; $(x)"},
        "source": "test",
    }
    with start_mwaa_standin({"remote": remote}) as standin:
        proc = airflow_home.airflow(
            "dags",
            "test",
            "example_mwaa_extras_remote_cli",
            "--conf",
            json.dumps(conf),
            check=False,
            timeout=900,
            extra_env=standin.env,
        )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"triggered {TARGET} in remote" in proc.stdout + proc.stderr
    assert count_runs(remote, TARGET) == before + 1
    assert standin.stats.commands_run == 2
    # One token unless a command took longer than the token has margin (slow, loaded machines).
    assert standin.stats.token_calls in (1, 2)
    assert standin.stats.cli_expired_token == 0
