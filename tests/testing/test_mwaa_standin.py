"""The MWAA stand-in answers like MWAA where it matters to a client."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from airflow_mwaa_extras.mwaa.boto_client import create_mwaa_client
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.mwaa.errors import MwaaAccessDeniedError, MwaaEnvironmentNotFoundError
from airflow_mwaa_extras.testing.airflow_home import AirflowHome, installed_airflow_version
from airflow_mwaa_extras.testing.mwaa_standin import MwaaStandin, MwaaStandinError, main, start_mwaa_standin
from airflow_mwaa_extras.testing.standin_faults import Fault
from tests.mwaa.fake_web_server import FakeClock
from tests.remote_envs import RemoteEnv


@pytest.fixture
def lone_home(tmp_path: Path) -> AirflowHome:
    # Most checks here never reach the airflow CLI: a home that is only a folder will do.
    return AirflowHome(path=tmp_path, sql_alchemy_conn="", env={"AIRFLOW_HOME": str(tmp_path)})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def standin(lone_home: AirflowHome, clock: FakeClock) -> Iterator[MwaaStandin]:
    with start_mwaa_standin(
        {"dev": lone_home, "prod": lone_home}, token_lifetime=60, denied_access_keys={"DENIED"}, clock=clock
    ) as s:
        yield s


def _post(url: str, body: bytes, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_the_mwaa_api_answers_boto3(standin: MwaaStandin) -> None:
    mwaa = create_mwaa_client(region_name="us-east-1", endpoint_url=standin.endpoint_url)
    environment = mwaa.get_environment(Name="dev")["Environment"]
    assert environment["AirflowVersion"] == installed_airflow_version()
    assert environment["WebserverUrl"] == standin.host
    assert standin.host.startswith("127.0.0.1:")
    assert mwaa.list_environments()["Environments"] == ["dev", "prod"]
    token = mwaa.create_cli_token(Name="prod")
    assert token["WebServerHostname"] == standin.host
    assert token["CliToken"]
    assert standin.stats.token_calls == 1


def test_the_env_points_boto3_at_it(standin: MwaaStandin, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in standin.env.items():
        monkeypatch.setenv(key, value)
    client = MwaaEnvironmentClient("dev")
    assert client.airflow_version == installed_airflow_version()
    assert client.web_login_url().startswith(f"http://{standin.host}{standin.login_path}?login=true#")
    with urllib.request.urlopen(client.web_login_url(), timeout=10) as page:
        assert b"MWAA stand-in" in page.read()


def test_unknown_environments_and_denied_callers(
    standin: MwaaStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(MwaaEnvironmentNotFoundError, match="no MWAA environment named 'nope'"):
        MwaaEnvironmentClient(
            "nope", endpoint_url=standin.endpoint_url, region_name="us-east-1"
        ).get_environment()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "DENIED")
    client = MwaaEnvironmentClient(
        "dev", endpoint_url=standin.endpoint_url, region_name="us-east-1", airflow_version="2.10.3"
    )
    with pytest.raises(
        MwaaAccessDeniedError, match=r"CreateCliToken on dev was denied: .*airflow:CreateCliToken"
    ):
        client.run("version")


def test_tokens_expire_and_bad_tokens_are_refused(standin: MwaaStandin, clock: FakeClock) -> None:
    mwaa = create_mwaa_client(region_name="us-east-1", endpoint_url=standin.endpoint_url)
    token = mwaa.create_cli_token(Name="dev")["CliToken"]
    clock.advance(60)
    assert _post(f"{standin.endpoint_url}/aws_mwaa/cli", b"version", token)[0] == 401
    assert _post(f"{standin.endpoint_url}/aws_mwaa/cli", b"version", "forged")[0] == 401
    assert (standin.stats.cli_expired_token, standin.stats.cli_bad_token, standin.stats.commands_run) == (
        1,
        1,
        0,
    )


def test_unsupported_commands_never_run(standin: MwaaStandin) -> None:
    mwaa = create_mwaa_client(region_name="us-east-1", endpoint_url=standin.endpoint_url)
    token = mwaa.create_cli_token(Name="dev")["CliToken"]
    # MWAA answers 500, not 400, for a command it does not run (amazon-mwaa-docker-images #148)
    status, _body = _post(f"{standin.endpoint_url}/aws_mwaa/cli", b"variables import /etc/passwd", token)
    assert status == 500
    status, _body = _post(f"{standin.endpoint_url}/aws_mwaa/cli", b"version; rm -rf /", token)
    assert status == 500  # `version;` is no command MWAA knows, and nothing ran
    assert standin.stats.commands_run == 0
    assert standin.stats.cli_500_unsupported == 2


def test_invoke_rest_api_is_routed_per_environment(standin: MwaaStandin) -> None:
    request = urllib.request.Request(f"{standin.endpoint_url}/restapi/nope", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 404
    assert info.value.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"


@pytest.mark.slow
def test_commands_beyond_the_concurrency_limit_get_503(remote_env: RemoteEnv, tmp_path: Path) -> None:

    with start_mwaa_standin({"dev": remote_env.home}, max_concurrent_commands=1) as standin:
        mwaa = create_mwaa_client(region_name="us-east-1", endpoint_url=standin.endpoint_url)
        token = mwaa.create_cli_token(Name="dev")["CliToken"]
        results: list[tuple[int, bytes]] = []
        hold = threading.Event()  # the first command keeps its slot until the second got its answer
        standin.inject(Fault(hold=hold), environment="dev", command="version")
        first = threading.Thread(
            target=lambda: results.append(_post(f"{standin.endpoint_url}/aws_mwaa/cli", b"version", token))
        )
        first.start()
        try:
            assert _wait_until(lambda: bool(standin.faults.served)), "the first command never arrived"
            results.append(_post(f"{standin.endpoint_url}/aws_mwaa/cli", b"version", token))
        finally:
            hold.set()
            first.join()
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 503]
    body = json.loads(next(body for status, body in results if status == 200))
    assert installed_airflow_version() in base64.b64decode(body["stdout"]).decode()
    assert standin.stats.max_in_flight == 1
    assert standin.stats.cli_503 == 1


def test_the_default_limit_is_four(lone_home: AirflowHome) -> None:
    with start_mwaa_standin({"dev": lone_home}) as standin:
        assert standin.max_concurrent_commands == 4
        assert standin.token_lifetime == 60.0


def test_it_needs_an_environment() -> None:
    with pytest.raises(MwaaStandinError, match="at least one environment"):
        start_mwaa_standin({})


def test_command_line_arguments_are_checked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["--env", "no-equals-sign"])
    assert "--env wants NAME=AIRFLOW_HOME" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--env", f"dev={tmp_path / 'missing'}"])
    assert "does not exist" in capsys.readouterr().err


def test_it_runs_as_its_own_process(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_mwaa_extras.testing.mwaa_standin", "--env", f"dev={tmp_path}"],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("MWAA stand-in on http://127.0.0.1:")
        exports = dict(proc.stdout.readline().removeprefix("export ").strip().split("=", 1) for _ in range(5))
        endpoint = exports["AWS_ENDPOINT_URL_MWAA"]
        assert first.startswith(f"MWAA stand-in on {endpoint} for dev")
        mwaa = create_mwaa_client(region_name="us-east-1", endpoint_url=endpoint)
        assert mwaa.get_environment(Name="dev")["Environment"]["Name"] == "dev"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Whether ``condition`` became true within ``timeout`` (checked, not guessed with a sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
