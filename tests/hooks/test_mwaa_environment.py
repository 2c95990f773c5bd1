from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_mwaa_extras.hooks.mwaa_environment import MwaaEnvironmentHook
from airflow_mwaa_extras.testing.airflow_home import AirflowHome, installed_airflow_version
from airflow_mwaa_extras.testing.mwaa_standin import MwaaStandin, start_mwaa_standin


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[MwaaStandin]:
    home = AirflowHome(path=tmp_path, sql_alchemy_conn="", env={"AIRFLOW_HOME": str(tmp_path)})
    with start_mwaa_standin({"target": home}) as running:
        yield running


def test_the_hook_reaches_the_environment_named_by_aws_endpoint_url_mwaa(
    standin: MwaaStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # aws_default (from the test session) points at another endpoint: the MWAA-specific one wins.
    monkeypatch.setenv("AWS_ENDPOINT_URL_MWAA", standin.endpoint_url)
    hook = MwaaEnvironmentHook(region_name="us-east-1")
    client = hook.get_environment_client("target", max_concurrency=2)
    assert hook.mwaa_endpoint_url == standin.endpoint_url
    assert client.airflow_version == installed_airflow_version()
    assert client.mwaa_client is hook.get_conn()
    assert client.max_concurrency == 2
    assert hook.get_environment_client("target") is client


def test_the_connections_service_config_wins(standin: MwaaStandin, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_MWAA", "http://127.0.0.1:9")
    extra = {"region_name": "us-east-1", "service_config": {"mwaa": {"endpoint_url": standin.endpoint_url}}}
    monkeypatch.setenv("AIRFLOW_CONN_MWAA_TARGET", json.dumps({"conn_type": "aws", "extra": extra}))
    hook = MwaaEnvironmentHook(aws_conn_id="mwaa_target")
    assert hook.get_environment_client("target").get_environment()["Name"] == "target"
    assert standin.stats.token_calls == 0


def test_the_connections_botocore_settings_reach_the_one_client(
    standin: MwaaStandin, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ca_bundle = tmp_path / "corporate-ca.pem"
    ca_bundle.write_text("")  # botocore reads it only for https
    extra = {
        "region_name": "us-east-1",
        "verify": str(ca_bundle),
        "config_kwargs": {
            "read_timeout": 7,
            "connect_timeout": 3,
            "retries": {"mode": "standard", "max_attempts": 9},
            "user_agent_extra": "team/analytics",
        },
        "service_config": {"mwaa": {"endpoint_url": standin.endpoint_url}},
    }
    monkeypatch.setenv("AIRFLOW_CONN_MWAA_SETTINGS", json.dumps({"conn_type": "aws", "extra": extra}))
    hook = MwaaEnvironmentHook(aws_conn_id="mwaa_settings")
    client: Any = hook.conn
    assert hook.get_conn() is client
    assert hook.get_environment_client("target").mwaa_client is client
    assert hook.get_rest_api_client("target").mwaa_client is client
    config = client.meta.config
    assert (config.read_timeout, config.connect_timeout) == (7, 3)
    assert "team/analytics" in config.user_agent_extra
    assert "AmPP/" in config.user_agent_extra  # the amazon provider's user agent
    # Ours win over the connection's: one botocore attempt, no host prefix for the loopback stand-in.
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert config.inject_host_prefix is False
    assert client._endpoint.http_session._verify == str(ca_bundle)  # botocore keeps it there only
    assert hook.get_environment_client("target").get_environment()["Name"] == "target"


def test_without_connection_settings_the_client_has_our_timeouts(
    standin: MwaaStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_MWAA", standin.endpoint_url)
    client: Any = MwaaEnvironmentHook(region_name="us-east-1").conn
    config = client.meta.config
    assert (config.read_timeout, config.connect_timeout) == (60, 10)
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
