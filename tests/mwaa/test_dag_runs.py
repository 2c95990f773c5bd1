"""RemoteDagRuns against a real Airflow behind the MWAA stand-in, over both transports."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_mwaa_extras.mwaa.boto_client import create_mwaa_client
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.mwaa.dag_run_types import (
    RemoteDagNotFoundError,
    RemoteDagPausedError,
    RemoteDagRunNotFoundError,
)
from airflow_mwaa_extras.mwaa.dag_runs import RemoteDagRuns, deterministic_run_id
from airflow_mwaa_extras.mwaa.rest_api import MwaaRestApiClient, supports_invoke_rest_api
from airflow_mwaa_extras.testing.local_rest_api import LocalRestApi
from airflow_mwaa_extras.testing.mwaa_standin import MwaaStandin, start_mwaa_standin
from tests.remote_envs import PAUSED, TARGET, RemoteEnv

ENV = "env-runs"
CONF = {"nested": {"a": [1, None, {"b": "c"}]}, "quote": 'it\'s "q" $(x) `y`;', "text": "Grüße ✓ 東京"}


def test_deterministic_run_ids_are_stable_short_and_distinct() -> None:
    first = deterministic_run_id("env", "dag", "a_dag", "task", "manual__2024", -1)
    assert first == deterministic_run_id("env", "dag", "a_dag", "task", "manual__2024", -1)
    assert first != deterministic_run_id("env", "dag", "a_dag", "task", "manual__2024", 0)
    assert first.startswith("mx_")
    assert len(first) == 16
    # /dags/{33-character DAG id}/dagRuns/{run id} still fits InvokeRestApi's 64 characters
    assert len(f"/dags/{TARGET}/dagRuns/{first}") <= 64


@pytest.fixture(scope="module")
def rest_api(remote_env: RemoteEnv) -> LocalRestApi:
    return remote_env.serve_as(ENV)


@pytest.fixture(scope="module")
def standin(remote_env: RemoteEnv, rest_api: LocalRestApi) -> Iterator[MwaaStandin]:
    server = start_mwaa_standin({ENV: remote_env.home}, denied_access_keys={"DENIED"})
    yield server
    server.stop()


def _mwaa_client(standin: MwaaStandin, key: str = "standin") -> Any:
    import boto3

    session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key="x", region_name="us-east-1")
    return create_mwaa_client(endpoint_url=standin.endpoint_url, session=session)


def _runs(standin: MwaaStandin, transport: str, rest_key: str = "standin") -> RemoteDagRuns:
    cli = MwaaEnvironmentClient(ENV, mwaa_client=_mwaa_client(standin))
    rest = MwaaRestApiClient(ENV, mwaa_client=_mwaa_client(standin, rest_key))
    return RemoteDagRuns(ENV, transport=transport, cli_client=cli, rest_client=rest)


HAS_REST = supports_invoke_rest_api()
TRANSPORTS = [
    pytest.param("cli", id="cli"),
    pytest.param(
        "rest_api",
        id="rest-api",
        marks=pytest.mark.skipif(not HAS_REST, reason="botocore 1.35.36 (MWAA 2.10.3) has no InvokeRestApi"),
    ),
]


@pytest.mark.slow
@pytest.mark.timeout(1800)  # several real Airflow CLI processes; slow on a busy machine
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_trigger_is_retry_safe_and_conf_arrives_intact(
    transport: str, standin: MwaaStandin, rest_api: LocalRestApi
) -> None:
    runs = _runs(standin, transport)
    run_id = deterministic_run_id("test", transport, os.getpid())
    first = runs.trigger(TARGET, run_id=run_id, conf=CONF)
    assert (first.run_id, first.created, first.state) == (run_id, True, "queued")
    again = runs.trigger(TARGET, run_id=run_id, conf={"other": 1})  # a retried task
    assert (again.run_id, again.created) == (run_id, False)
    assert set(runs.calls) == {transport}
    remote = rest_api.get_json(f"/dags/{TARGET}/dagRuns/{run_id}")
    assert remote["conf"] == CONF  # the retry did not replace it
    listed = rest_api.get_json(f"/dags/{TARGET}/dagRuns", {"limit": 100})["dag_runs"]
    assert [r["dag_run_id"] for r in listed].count(run_id) == 1
    assert runs.state(TARGET, run_id) == "queued"
    assert runs.failed_task_ids(TARGET, run_id) == []
    with pytest.raises(RemoteDagRunNotFoundError):
        runs.get_run(TARGET, "mx_nosuchrun")


@pytest.mark.slow
@pytest.mark.timeout(1800)  # several real Airflow CLI processes; slow on a busy machine
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_missing_and_paused_dags_are_clear_errors(transport: str, standin: MwaaStandin) -> None:
    runs = _runs(standin, transport)
    with pytest.raises(RemoteDagNotFoundError, match="no_such_dag"):
        runs.trigger("no_such_dag", run_id="mx_r1")
    with pytest.raises(RemoteDagPausedError, match="is paused"):
        runs.trigger(PAUSED, run_id="mx_r2")


@pytest.mark.slow
@pytest.mark.timeout(1800)  # several real Airflow CLI processes; slow on a busy machine
@pytest.mark.skipif(not HAS_REST, reason="botocore 1.35.36 (MWAA 2.10.3) has no InvokeRestApi")
def test_access_denied_on_invoke_rest_api_falls_back_to_the_cli(
    standin: MwaaStandin, caplog: pytest.LogCaptureFixture
) -> None:
    runs = _runs(standin, "auto", rest_key="DENIED")
    assert runs.transport == "rest_api"
    with caplog.at_level(logging.INFO, logger="airflow_mwaa_extras.mwaa.dag_runs"):
        assert runs.find_run(TARGET, "mx_not_there") is None
        assert runs.find_run(TARGET, "mx_not_here") is None  # short: the path fits in 64 characters
    # each call falls back with a warning naming the grant; a denial is never a switch for good
    assert runs.transport == "rest_api"
    assert runs.calls == ["cli", "cli"]
    fallback_lines = [r for r in caplog.records if "this call goes over the CLI endpoint" in r.getMessage()]
    assert len(fallback_lines) == 2
    assert "airflow:InvokeRestApi on arn:aws:airflow" in fallback_lines[0].getMessage()


@pytest.mark.skipif(HAS_REST, reason="only where botocore lacks InvokeRestApi")
def test_auto_uses_the_cli_where_botocore_lacks_invoke_rest_api(standin: MwaaStandin) -> None:
    assert _runs(standin, "auto").transport == "cli"
