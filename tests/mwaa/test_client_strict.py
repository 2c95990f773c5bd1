"""The client against the strict stand-in: the allowlist and its escape hatch, login paths per
version, IAM roles on InvokeRestApi, one retry layer, HTTPS_PROXY, concurrency from GetEnvironment."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from airflow_mwaa_extras import lambda_handler
from airflow_mwaa_extras.cli import main
from airflow_mwaa_extras.mwaa import commands
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.mwaa.errors import (
    MwaaCommandMayHaveRunError,
    MwaaThrottledError,
    MwaaUnreachableError,
    UnsupportedCommandError,
)
from airflow_mwaa_extras.mwaa.rest_api import (
    MwaaRestApiClient,
    RestApiAccessDeniedError,
    RestApiForbiddenError,
    supports_invoke_rest_api,
)
from airflow_mwaa_extras.mwaa.supported_commands import ALLOW_UNLISTED_ENV
from airflow_mwaa_extras.mwaa.web_server_urls import login_path
from airflow_mwaa_extras.testing import standin_commands
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.mwaa_standin import MwaaStandin, start_mwaa_standin
from tests.remote_envs import NO_INVOKE_REST_API, TARGET, RemoteEnv

DATA = Path(__file__).resolve().parents[2] / "src" / "airflow_mwaa_extras" / "data" / "mwaa"
SHIPPED = sorted(path.name for path in DATA.iterdir() if path.is_dir())


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MwaaStandin]:
    """A stand-in whose environment is only a folder: for what never reaches the airflow CLI."""
    home = AirflowHome(path=tmp_path, sql_alchemy_conn="", env={"AIRFLOW_HOME": str(tmp_path)})
    roles = {"NOROLE": None, "VIEWER": "Viewer"}
    with start_mwaa_standin({"dev": home}, rest_api_roles=roles, rest_api_rate=1) as running:
        for key, value in running.env.items():
            monkeypatch.setenv(key, value)
        yield running


@pytest.mark.parametrize("version", SHIPPED)
def test_the_allowlist_matches_the_aws_reference_for_every_shipped_version(version: str) -> None:
    names = standin_commands.supported_commands("2.10.3") | standin_commands.supported_commands("3.3.1")
    names |= {"users list", "connections list", "variables import", "dags details"}
    for name in sorted(names):
        expected = standin_commands.supported(name, version)
        try:
            commands.check_supported(name.split(), version)
            accepted = True
        except UnsupportedCommandError:
            accepted = False
        assert accepted is expected, f"{name} on {version}"


def test_the_escape_hatch_lets_an_unlisted_command_through(
    bare: MwaaStandin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(
        UnsupportedCommandError, match="allow_unlisted=True, `mwaa-extras run --allow-unlisted`"
    ):
        MwaaEnvironmentClient("dev", endpoint_url=bare.endpoint_url).run("users list")
    assert bare.stats.cli_requests == 0
    # Let through, it reaches MWAA, which answers 500 for a command it does not run.
    client = MwaaEnvironmentClient("dev", endpoint_url=bare.endpoint_url, allow_unlisted=True)
    with pytest.raises(MwaaCommandMayHaveRunError, match="MWAA answers 500 for a command it does not run"):
        client.run("users list")
    assert main(["run", "--allow-unlisted", "dev", "--", "users", "list"]) == 1
    assert "MWAA answers 500" in capsys.readouterr().err
    monkeypatch.setenv(ALLOW_UNLISTED_ENV, "1")
    assert MwaaEnvironmentClient("dev", endpoint_url=bare.endpoint_url).allow_unlisted is True
    assert bare.stats.cli_500_unsupported == 2


@pytest.mark.parametrize(
    ("version", "path"),
    [("2.10.3", "/aws_mwaa/aws-console-sso"), ("3.3.1", "/pluginsv2/aws_mwaa/aws-console-sso")],
)
def test_login_url_per_version(tmp_path: Path, version: str, path: str) -> None:
    assert login_path(version) == path
    home = AirflowHome(path=tmp_path, sql_alchemy_conn="", env={})
    with start_mwaa_standin({"dev": home}, airflow_version=version) as running:
        url = MwaaEnvironmentClient(
            "dev", endpoint_url=running.endpoint_url, region_name="us-east-1"
        ).web_login_url()
        assert url.startswith(f"http://{running.host}{path}?login=true#")


needs_rest = pytest.mark.skipif(
    not supports_invoke_rest_api(),
    reason=NO_INVOKE_REST_API,
)


@needs_rest
def test_no_role_and_viewer_get_one_line_naming_the_grant(
    bare: MwaaStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "NOROLE")
    rest = MwaaRestApiClient("dev", endpoint_url=bare.endpoint_url, region_name="us-east-1")
    with pytest.raises(RestApiAccessDeniedError) as denied:
        rest.get("/dags/d")
    grant = "airflow:InvokeRestApi on arn:aws:airflow:us-east-1:ACCOUNT_ID:role/dev/Op"
    assert "No Airflow role granted in IAM" in str(denied.value)
    assert grant in str(denied.value)
    assert "\n" not in str(denied.value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "VIEWER")
    rest = MwaaRestApiClient("dev", endpoint_url=bare.endpoint_url, region_name="us-east-1")
    with pytest.raises(RestApiForbiddenError) as forbidden:
        rest.invoke("POST", "/dags/d/dagRuns", body={"dag_run_id": "r"})
    assert "HTTP 403" in str(forbidden.value)
    assert grant in str(forbidden.value)
    assert "\n" not in str(forbidden.value)


@needs_rest
def test_invoke_rest_api_has_one_retry_layer(bare: MwaaStandin, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "VIEWER")
    rest = MwaaRestApiClient(
        "dev",
        endpoint_url=bare.endpoint_url,
        region_name="us-east-1",
        max_attempts=3,
        backoff_base=0.01,
        min_interval=0,
    )
    with pytest.raises(RestApiForbiddenError):
        rest.invoke("POST", "/dags/d/dagRuns", body={})  # fills the 1-a-second budget
    before = bare.stats.rest_api_calls
    with pytest.raises(MwaaThrottledError, match="after 3 attempts"):
        rest.invoke("POST", "/dags/d/dagRuns", body={})
    # 3 calls, not 3 x botocore's 5: botocore's own retries are off
    assert bare.stats.rest_api_calls - before == 3
    assert bare.stats.rest_api_throttled == 3


class _ConnectProxy:
    """Accepts one connection, records its first line, refuses the tunnel."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.lines.append(conn.recv(4096).decode().splitlines()[0])
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")


def test_https_proxy_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = _ConnectProxy()
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    mwaa = boto3.client("mwaa", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(mwaa) as stubber:
        stubber.add_response(
            "create_cli_token", {"CliToken": "t", "WebServerHostname": "env.example.invalid"}, {"Name": "dev"}
        )
        client = MwaaEnvironmentClient(
            "dev", mwaa_client=mwaa, airflow_version="2.10.3", max_attempts=2, backoff_base=0.01
        )
        with pytest.raises(MwaaUnreachableError, match=f"through the proxy 127.0.0.1:{proxy.port}"):
            client.run("version")
    proxy.sock.close()
    assert proxy.lines == ["CONNECT env.example.invalid:443 HTTP/1.0"] * 2


def test_concurrency_can_follow_the_web_servers() -> None:
    mwaa = boto3.client("mwaa", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    environment: dict[str, object] = {"Name": "dev", "AirflowVersion": "2.10.3"}
    shape = mwaa.meta.service_model.operation_model("GetEnvironment").output_shape
    # An older botocore (MWAA 2.9.2's) does not know the web server fields and drops them:
    # the client then counts one web server.
    knows_web_servers = "MinWebservers" in shape.members["Environment"].members
    if knows_web_servers:
        environment.update(MinWebservers=2, MaxWebservers=5)
    with Stubber(mwaa) as stubber:
        stubber.add_response("get_environment", {"Environment": environment}, {"Name": "dev"})
        client = MwaaEnvironmentClient("dev", mwaa_client=mwaa, max_concurrency="auto")
        client._follow_web_servers()
    assert client.max_concurrency == (8 if knows_web_servers else 4)


def test_lambda_keeps_a_margin_before_the_function_ends(
    bare: MwaaStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    class _Context:
        aws_request_id = "req-1"

        def get_remaining_time_in_millis(self) -> int:
            return 800  # less than the 1 s margin

    lambda_handler._CLIENTS.clear()
    monkeypatch.setenv("MWAA_AIRFLOW_VERSION", "2.10.3")
    with pytest.raises(MwaaUnreachableError, match="no time left"):
        lambda_handler.handler({"environment": "dev", "dag_id": "d"}, _Context())
    assert bare.stats.token_calls == 0
    lambda_handler._CLIENTS.clear()


def test_retries_of_control_plane_calls_are_ours(bare: MwaaStandin) -> None:
    client = MwaaEnvironmentClient("dev", endpoint_url=bare.endpoint_url, region_name="us-east-1")
    config: Any = client.mwaa_client.meta.config
    assert config.retries["total_max_attempts"] == 1


@needs_rest
@pytest.mark.slow
def test_a_denied_invoke_rest_api_falls_back_for_that_call_only(
    remote_env: RemoteEnv, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from airflow_mwaa_extras.mwaa.dag_runs import RemoteDagRuns

    with start_mwaa_standin({"remote": remote_env.home}, rest_api_roles={"NOROLE": None}) as running:
        for key, value in running.env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "NOROLE")
        runs = RemoteDagRuns("remote", endpoint_url=running.endpoint_url, region_name="us-east-1")
        caplog.set_level("INFO")
        assert runs.find_run(TARGET, "no_such_run_1") is None
        assert runs.find_run(TARGET, "no_such_run_2") is None
    assert runs.calls == ["cli", "cli"]
    assert running.stats.rest_api_calls == 2  # InvokeRestApi was tried again: no switch for good
    assert "go through InvokeRestApi (transport=auto: botocore has InvokeRestApi)" in caplog.text
    assert "airflow:InvokeRestApi on arn:aws:airflow:us-east-1:ACCOUNT_ID:role/remote/Op" in caplog.text
