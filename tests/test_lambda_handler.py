from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from airflow_mwaa_extras import lambda_handler
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.mwaa_standin import MwaaStandin, start_mwaa_standin
from airflow_mwaa_extras.testing.mwaa_standin_target import run_conf
from tests.remote_envs import TARGET, RemoteEnv


@contextmanager
def _running(home: AirflowHome, monkeypatch: pytest.MonkeyPatch) -> Iterator[MwaaStandin]:
    lambda_handler._CLIENTS.clear()
    with start_mwaa_standin({"remote": home}) as running:
        for key, value in running.env.items():
            monkeypatch.setenv(key, value)
        yield running
    lambda_handler._CLIENTS.clear()


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MwaaStandin]:
    # These cases never reach the airflow CLI: a bare folder plays the environment.
    with _running(AirflowHome(path=tmp_path, sql_alchemy_conn="", env={}), monkeypatch) as running:
        yield running


@pytest.mark.slow
def test_it_triggers_from_the_event_and_returns_json(
    remote_env: RemoteEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MWAA_ENVIRONMENT", "remote")
    monkeypatch.setenv("MWAA_TIMEOUT", "900")  # a loaded CI machine runs the airflow CLI slowly
    with _running(remote_env.home, monkeypatch):
        result = lambda_handler.handler(
            event := {"dag_id": TARGET, "conf": {"source": "s3://b/k y"}, "run_id": "lambda__1"}, None
        )
    assert json.loads(json.dumps(result)) == result
    assert result["ok"] is True
    assert result["run_id"] == "lambda__1"
    assert run_conf(remote_env.home, TARGET, "lambda__1") == event["conf"]


@pytest.mark.parametrize(
    ("event", "env", "error", "message"),
    [
        ({}, {}, "UsageError", "name the environment and the DAG"),
        (
            {"environment": "nope", "dag_id": "d"},
            {},
            "MwaaEnvironmentNotFoundError",
            "no MWAA environment named 'nope'",
        ),
        (
            {"environment": "remote", "dag_id": "d", "conf": "[1]"},
            {},
            "InvalidCommandArgumentError",
            "conf must be a JSON object",
        ),
        (
            {"environment": "remote"},
            {"MWAA_DAG_ID": "d", "MWAA_CONF": "{oops"},
            "InvalidCommandArgumentError",
            "conf is not valid JSON",
        ),
    ],
    ids=["nothing", "unknown-env", "conf-not-object", "conf-from-env-invalid"],
)
def test_permanent_failures_return_a_clear_result(
    standin: MwaaStandin,
    monkeypatch: pytest.MonkeyPatch,
    event: dict[str, str],
    env: dict[str, str],
    error: str,
    message: str,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = lambda_handler.handler(event, None)
    assert result["ok"] is False
    assert result["error"] == error
    assert message in result["message"]
    assert standin.stats.cli_requests == 0
