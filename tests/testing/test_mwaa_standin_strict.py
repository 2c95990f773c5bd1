"""The stand-in plays MWAA's rough edges (shared/reference/mwaa-real-behaviour.md), one fact per test."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_mwaa_extras.mwaa.boto_client import create_mwaa_client
from airflow_mwaa_extras.testing import standin_commands
from airflow_mwaa_extras.testing.airflow_home import AirflowHome, installed_airflow_version
from airflow_mwaa_extras.testing.mwaa_standin import MwaaStandin, start_mwaa_standin
from airflow_mwaa_extras.testing.standin_faults import Fault
from tests.remote_envs import RemoteEnv


def _post(url: str, body: bytes, token: str, timeout: float = 300) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture(scope="module")
def standin(remote_env: RemoteEnv) -> Iterator[MwaaStandin]:
    with start_mwaa_standin({"dev": remote_env.home}) as running:
        yield running


def _token(standin: MwaaStandin) -> str:
    mwaa = create_mwaa_client(region_name="us-east-1", endpoint_url=standin.endpoint_url)
    return str(mwaa.create_cli_token(Name="dev")["CliToken"])


def _cli(standin: MwaaStandin, line: str, timeout: float = 300) -> tuple[int, bytes]:
    return _post(f"{standin.endpoint_url}/aws_mwaa/cli", line.encode(), _token(standin), timeout)


@pytest.mark.parametrize(
    ("version", "command", "expected"),
    [
        pytest.param("2.10.3", "tasks run", True, id="v2-tasks-run"),
        pytest.param("2.10.3", "assets list", False, id="v2-no-assets"),
        pytest.param("2.5.1", "roles create", False, id="roles-create-needs-2.6"),
        pytest.param("2.10.3", "dags backfill", True, id="v2-backfill"),
        pytest.param("3.3.1", "dags backfill", False, id="v3-no-dags-backfill"),
        pytest.param("3.3.1", "backfill create", True, id="v3-backfill-create"),
        pytest.param("3.0.6", "assets materialize", True, id="v3-assets"),
        pytest.param("3.2.1", "roles add-perms", True, id="v3-roles"),
        pytest.param("3.3.1", "tasks run", False, id="v3-no-tasks-run"),
        pytest.param("3.3.1", "variables import", False, id="never-variables-import"),
        pytest.param("2.10.3", "connections list", False, id="never-connections-list"),
    ],
)
def test_its_own_table_follows_the_aws_reference(version: str, command: str, expected: bool) -> None:
    assert standin_commands.supported(command, version) is expected


def test_unsupported_commands_get_500_and_never_run(standin: MwaaStandin) -> None:
    before = standin.stats.commands_run
    assert _cli(standin, "connections list")[0] == 500
    assert standin.stats.commands_run == before


def test_stderr_is_noisy_like_mwaa_and_the_command_still_succeeded(standin: MwaaStandin) -> None:
    status, body = _cli(standin, "version")
    assert status == 200
    payload = json.loads(body)
    stderr = base64.b64decode(payload["stderr"]).decode()
    assert "{{settings.py:63}} INFO" in stderr
    assert "ERROR - Failed to import plugin" in stderr
    assert installed_airflow_version() in base64.b64decode(payload["stdout"]).decode()


def test_a_command_outliving_the_proxy_gets_504_and_keeps_running(standin: MwaaStandin) -> None:
    before = standin.stats.commands_run
    hold = threading.Event()  # the command cannot finish before the proxy gives up, however fast
    standin.inject(Fault(hold=hold), command="version")
    standin.proxy_timeout = 0.01
    try:
        status, _ = _cli(standin, "version")
    finally:
        standin.proxy_timeout = 120.0
        hold.set()
    assert status == 504
    deadline = time.monotonic() + 120
    while standin.stats.commands_run == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert standin.stats.commands_run == before + 1  # it ran to its end behind the 504


@pytest.mark.parametrize(
    ("fault", "status", "ran"),
    [
        pytest.param(Fault(status=502, before=True), 502, 0, id="502-before"),
        pytest.param(Fault(status=500), 500, 1, id="500-after"),
        pytest.param(Fault(status=504), 504, 1, id="504-after"),
    ],
)
def test_injected_status_faults(standin: MwaaStandin, fault: Fault, status: int, ran: int) -> None:
    before = standin.stats.commands_run
    standin.inject(fault, environment="dev", command="version")
    assert _cli(standin, "version")[0] == status
    assert standin.stats.commands_run == before + ran
    assert _cli(standin, "version")[0] == 200  # used up


def test_injected_reset_and_delay(standin: MwaaStandin) -> None:
    standin.inject(Fault(reset=True), command="version")
    with pytest.raises((ConnectionError, urllib.error.URLError, OSError)):
        _cli(standin, "version")
    standin.inject(Fault(delay=3.0), environment="dev")
    with pytest.raises((TimeoutError, urllib.error.URLError, socket.timeout)):
        _cli(standin, "version", timeout=1.0)
    assert [label for _env, _cmd, label in standin.faults.served[-2:]] == [
        "reset after run",
        "delay 3s after run",
    ]


def test_the_login_page_path_follows_the_version(tmp_path: Path) -> None:
    home = AirflowHome(path=tmp_path, sql_alchemy_conn="", env={})
    for version, path in (
        ("2.10.3", "/aws_mwaa/aws-console-sso"),
        ("3.3.1", "/pluginsv2/aws_mwaa/aws-console-sso"),
    ):
        with start_mwaa_standin({"dev": home}, airflow_version=version) as running:
            assert running.login_path == path
            with urllib.request.urlopen(f"{running.endpoint_url}{path}?login=true", timeout=10) as page:
                assert b"MWAA stand-in" in page.read()
            other = (
                "/aws_mwaa/aws-console-sso"
                if version.startswith("3")
                else "/pluginsv2/aws_mwaa/aws-console-sso"
            )
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(f"{running.endpoint_url}{other}", timeout=10)


def _invoke(running: MwaaStandin, key: str, method: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"{running.endpoint_url}/restapi/dev",
        data=json.dumps(
            {"Path": "/variables", "Method": method, "Body": {"key": "k", "value": "v"}}
        ).encode(),
        method="POST",
        headers={
            "Authorization": f"AWS4-HMAC-SHA256 Credential={key}/20250101/us-east-1/airflow/aws4_request"
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_invoke_rest_api_roles_and_throttling(tmp_path: Path) -> None:
    home = AirflowHome(path=tmp_path, sql_alchemy_conn="", env={})
    roles = {"NOROLE": None, "VIEWER": "Viewer", "PUBLIC": "Public"}
    with start_mwaa_standin({"dev": home}, rest_api_roles=roles, rest_api_rate=2) as running:
        status, body = _invoke(running, "NOROLE", "GET")
        assert (status, body["__type"]) == (403, "AccessDeniedException")
        assert "No Airflow role granted in IAM" in str(body["message"])
        status, body = _invoke(running, "VIEWER", "POST")
        assert (status, body["__type"], body["RestApiStatusCode"]) == (400, "RestApiClientException", 403)
        status, body = _invoke(running, "PUBLIC", "GET")
        assert body["RestApiStatusCode"] == 403
        status, body = _invoke(running, "VIEWER", "POST")  # the third counted call in one second
        assert (status, body["__type"]) == (429, "ThrottlingException")
        assert running.stats.rest_api_throttled == 1
