"""The client's protocol handling against a scripted web server and botocore's Stubber."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.mwaa import commands
from airflow_mwaa_extras.mwaa.cli_output import decode_cli_response, stderr_looks_failed
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.mwaa.errors import (
    MwaaAccessDeniedError,
    MwaaCliError,
    MwaaCommandMayHaveRunError,
    MwaaEnvironmentNotFoundError,
    MwaaProtocolError,
    MwaaThrottledError,
    MwaaUnreachableError,
    UnsupportedCommandError,
)
from airflow_mwaa_extras.mwaa.web_server_urls import is_loopback_host, web_server_base_url
from tests.mwaa.fake_web_server import FakeClock, ok_body, scripted_server

ENV = "analytics"


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    mwaa = boto3.client(
        "mwaa",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        endpoint_url="http://127.0.0.1:9",
    )
    with Stubber(mwaa) as stubber:
        yield mwaa, stubber
        stubber.assert_no_pending_responses()


def _tokens(stubber: Stubber, host: str, count: int) -> None:
    for index in range(count):
        stubber.add_response(
            "create_cli_token", {"CliToken": f"token-{index}", "WebServerHostname": host}, {"Name": ENV}
        )


def _client(mwaa: Any, **kwargs: Any) -> MwaaEnvironmentClient:
    kwargs.setdefault("airflow_version", "2.10.3")
    kwargs.setdefault("backoff_base", 0.01)
    return MwaaEnvironmentClient(ENV, mwaa_client=mwaa, **kwargs)


def test_a_command_is_sent_quoted_with_the_token_and_decoded(stubbed: tuple[Any, Stubber]) -> None:
    mwaa, stubber = stubbed
    with scripted_server(
        [(200, ok_body('[{"dag_run_id": "r ✓"}]\n', "[2024-01-01T00:00:00.000+0000] {x.py:1} INFO - hi\n"))]
    ) as web:
        _tokens(stubber, web.host, 1)
        client = _client(mwaa)
        cmd = commands.dags_trigger("d; rm -rf /", airflow_version="2.10.3", conf={"q": "it's $(x)"})
        result = client.run(cmd)
    assert result.stdout == '[{"dag_run_id": "r ✓"}]\n'
    assert not result.failed
    sent = web.requests[0]
    assert sent["path"] == "/aws_mwaa/cli"
    assert sent["headers"]["Authorization"] == "Bearer token-0"
    assert sent["headers"]["Content-Type"] == "text/plain"
    assert sent["body"].decode() == cmd.to_shell()
    assert client.stats.token_calls == 1
    assert client.stats.http_requests == 1


def test_503_is_retried_with_backoff_until_it_succeeds(stubbed: tuple[Any, Stubber]) -> None:
    mwaa, stubber = stubbed
    with scripted_server([(503, b"busy"), (503, b"busy"), (200, ok_body("ok"))]) as web:
        _tokens(stubber, web.host, 1)
        client = _client(mwaa)
        assert client.run("version").stdout == "ok"
    assert (client.stats.http_503, client.stats.retries, client.stats.http_requests) == (2, 2, 3)


def test_503_forever_gives_up_after_max_attempts(stubbed: tuple[Any, Stubber]) -> None:
    mwaa, stubber = stubbed
    with scripted_server([(503, b"busy")]) as web:
        _tokens(stubber, web.host, 1)
        with pytest.raises(MwaaThrottledError, match="stayed busy .* after 3 attempts"):
            _client(mwaa, max_attempts=3).run("version")
        assert len(web.requests) == 3


def test_401_refreshes_the_token_once(stubbed: tuple[Any, Stubber]) -> None:
    mwaa, stubber = stubbed
    with scripted_server([(401, b"expired"), (200, ok_body("ok"))]) as web:
        _tokens(stubber, web.host, 2)
        client = _client(mwaa)
        assert client.run("version").stdout == "ok"
    assert [r["headers"]["Authorization"] for r in web.requests] == ["Bearer token-0", "Bearer token-1"]


def test_403_twice_is_access_denied(stubbed: tuple[Any, Stubber]) -> None:
    mwaa, stubber = stubbed
    with scripted_server([(403, b"no")]) as web:
        _tokens(stubber, web.host, 2)
        with pytest.raises(MwaaAccessDeniedError, match="refused a fresh CLI token"):
            _client(mwaa).run("version")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>gateway</html>", "not JSON"),
        (b'{"stdout": "***", "stderr": ""}', "stdout is not valid base64"),
        (b'{"stdout": 1}', "stdout is not a base64 string"),
        (b'{"other": 1}', "neither stdout nor stderr"),
    ],
    ids=["html", "bad-base64", "not-string", "wrong-keys"],
)
def test_malformed_answers_are_protocol_errors(
    stubbed: tuple[Any, Stubber], body: bytes, message: str
) -> None:
    mwaa, stubber = stubbed
    with scripted_server([(200, body)]) as web:
        _tokens(stubber, web.host, 1)
        with pytest.raises(MwaaProtocolError, match=message):
            _client(mwaa).run("version")


def test_an_unexpected_status_is_a_protocol_error_naming_it(stubbed: tuple[Any, Stubber]) -> None:
    mwaa, stubber = stubbed
    with scripted_server([(404, b"nothing here")]) as web:
        _tokens(stubber, web.host, 1)
        with pytest.raises(MwaaProtocolError, match="HTTP 404 to version: nothing here"):
            _client(mwaa).run("version")


def test_an_unreachable_web_server_is_retried_then_named(stubbed: tuple[Any, Stubber]) -> None:
    mwaa, stubber = stubbed
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{sock.getsockname()[1]}"
    _tokens(stubber, closed, 1)
    with pytest.raises(MwaaUnreachableError, match=f"after 2 attempts: cannot connect to {closed}"):
        _client(mwaa, max_attempts=2).run("version")


def test_a_slow_answer_is_retried_only_for_a_read_only_command(stubbed: tuple[Any, Stubber]) -> None:
    mwaa, stubber = stubbed
    with scripted_server([(200, ok_body("late"))], answer_late=True) as web:
        _tokens(stubber, web.host, 1)
        with pytest.raises(MwaaUnreachableError, match=r"after 2 attempts: no answer within 0.2 s"):
            _client(mwaa, timeout=0.2, max_attempts=2).run("version")
        assert len(web.requests) == 2


def test_a_slow_answer_to_a_mutating_command_may_have_run(stubbed: tuple[Any, Stubber]) -> None:
    mwaa, stubber = stubbed
    with scripted_server([(200, ok_body("late"))], answer_late=True) as web:
        _tokens(stubber, web.host, 1)
        cmd = commands.variables_set("k", "secret-value")
        with pytest.raises(
            MwaaCommandMayHaveRunError,
            match=r"^airflow variables set may have run in analytics \(no answer within 0.2 s\); check before",
        ) as info:
            _client(mwaa, timeout=0.2).run(cmd)
        assert "secret-value" not in str(info.value)
        assert len(web.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_5xx_after_a_mutating_command_is_not_resent(stubbed: tuple[Any, Stubber], status: int) -> None:
    mwaa, stubber = stubbed
    with scripted_server([(status, b"proxy"), (200, ok_body("Variable k created"))]) as web:
        _tokens(stubber, web.host, 1)
        with pytest.raises(MwaaCommandMayHaveRunError, match=f"HTTP {status}"):
            _client(mwaa).run(commands.variables_set("k", "v"))
        assert len(web.requests) == 1


def test_a_5xx_after_a_read_only_command_is_resent(stubbed: tuple[Any, Stubber]) -> None:
    mwaa, stubber = stubbed
    with scripted_server([(504, b"proxy"), (200, ok_body("ok"))]) as web:
        _tokens(stubber, web.host, 1)
        assert _client(mwaa).run("version").attempts == 2


def test_success_is_judged_from_stdout_not_stderr_noise(stubbed: tuple[Any, Stubber]) -> None:
    mwaa, stubber = stubbed
    noise = (
        "[2024-01-01T00:00:00.000+0000] {{plugins_manager.py:264}} ERROR - Failed to import plugin x\n"
        "a DAG file printed this\n"
        "Error: Failed to load all files. For details, run `airflow dags list-import-errors`\n"
    )
    with scripted_server(
        [
            (200, ok_body("Variable k created\n", noise)),
            (200, ok_body('[{"dag_id": "d"}]', noise)),
            (200, ok_body("", noise)),
        ]
    ) as web:
        _tokens(stubber, web.host, 1)
        client = _client(mwaa)
        client.run(commands.variables_set("k", "v"))
        client.run(commands.dags_list())
        with pytest.raises(MwaaCliError):  # no "Variable k created": it did not happen
            client.run(commands.variables_set("k", "v"))


def test_a_token_is_reused_only_while_it_has_margin_left(stubbed: tuple[Any, Stubber]) -> None:
    mwaa, stubber = stubbed
    clock = FakeClock()
    with scripted_server([(200, ok_body("ok"))]) as web:
        _tokens(stubber, web.host, 2)
        client = _client(mwaa, token_lifetime=60, token_margin=15, clock=clock)
        client.run("version")
        clock.advance(44.9)
        client.run("version")  # same token: 15.1 s left, more than the margin
        clock.advance(0.2)
        client.run("version")  # 14.9 s left, less than the margin: a new token
    assert client.stats.token_calls == 2
    assert client.stats.max_token_age_at_send == pytest.approx(44.9)
    assert [r["headers"]["Authorization"] for r in web.requests] == ["Bearer token-0"] * 2 + [
        "Bearer token-1"
    ]


@pytest.mark.parametrize("concurrency", [1, 2])
def test_commands_to_one_environment_are_serialized(stubbed: tuple[Any, Stubber], concurrency: int) -> None:
    mwaa, stubber = stubbed
    # Each request waits until `concurrency` are in flight together: the limit is reached for sure,
    # and the requests that queue behind it arrive while the first ones are still held.
    with scripted_server([(200, ok_body("ok"))], hold_until_in_flight=concurrency) as web:
        _tokens(stubber, web.host, 1)
        client = _client(mwaa, max_concurrency=concurrency)
        threads = [threading.Thread(target=client.run, args=("version",)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert web.max_in_flight == concurrency
    assert len(web.requests) == 4


def test_a_failed_command_raises_with_its_stderr(stubbed: tuple[Any, Stubber]) -> None:
    mwaa, stubber = stubbed
    stderr = "Traceback (most recent call last):\n  File x\nairflow.exceptions.DagNotFound: Dag id nope not found\n"
    with scripted_server([(200, ok_body("", stderr))]) as web:
        _tokens(stubber, web.host, 1)
        client = _client(mwaa)
        with pytest.raises(
            MwaaCliError, match="airflow dags trigger failed in analytics: .*DagNotFound"
        ) as info:
            client.run(commands.dags_trigger("nope", airflow_version="2.10.3"))
        assert info.value.stderr == stderr
        assert info.value.command == "dags trigger --output=json --no-replace-microseconds -- nope"
        assert client.run("dags trigger nope", check=False).failed


def test_secret_values_never_appear_in_results_or_errors(stubbed: tuple[Any, Stubber]) -> None:
    mwaa, stubber = stubbed
    with scripted_server([(200, ok_body("", "Error: boom\n"))]) as web:
        _tokens(stubber, web.host, 1)
        cmd = commands.variables_set("api_key", "hunter2")
        with pytest.raises(MwaaCliError) as info:
            _client(mwaa).run(cmd)
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in info.value.command
    assert b"hunter2" in web.requests[0]["body"]  # it was sent, only never shown


def test_unsupported_commands_are_refused_before_any_call(stubbed: tuple[Any, Stubber]) -> None:
    mwaa, _stubber = stubbed  # no response queued: any API call would fail the test
    with pytest.raises(UnsupportedCommandError, match="variables import"):
        _client(mwaa).run("variables import vars.json")


def test_airflow_version_comes_from_get_environment_once(stubbed: tuple[Any, Stubber]) -> None:
    mwaa, stubber = stubbed
    stubber.add_response(
        "get_environment", {"Environment": {"Name": ENV, "AirflowVersion": "3.0.6"}}, {"Name": ENV}
    )
    client = MwaaEnvironmentClient(ENV, mwaa_client=mwaa)
    assert client.airflow_version == "3.0.6"
    assert client.airflow_version == "3.0.6"
    assert client.mwaa_client is mwaa


@pytest.mark.parametrize(
    ("operation", "code", "expected", "message"),
    [
        (
            "get_environment",
            "ResourceNotFoundException",
            MwaaEnvironmentNotFoundError,
            "no MWAA environment named 'analytics'",
        ),
        (
            "get_environment",
            "AccessDeniedException",
            MwaaAccessDeniedError,
            "GetEnvironment on analytics was denied",
        ),
        (
            "create_cli_token",
            "AccessDeniedException",
            MwaaAccessDeniedError,
            "CreateCliToken on analytics was denied",
        ),
        (
            "create_cli_token",
            "ResourceNotFoundException",
            MwaaEnvironmentNotFoundError,
            "no MWAA environment",
        ),
    ],
)
def test_api_errors_map_to_one_clear_exception(
    stubbed: tuple[Any, Stubber], operation: str, code: str, expected: type[Exception], message: str
) -> None:
    mwaa, stubber = stubbed
    stubber.add_client_error(operation, service_error_code=code, service_message="nope", http_status_code=403)
    client = MwaaEnvironmentClient(
        ENV, mwaa_client=mwaa, airflow_version=None if operation == "get_environment" else "2.10.3"
    )
    with pytest.raises(expected, match=message):
        client.run("version")


def test_web_login_url(stubbed: tuple[Any, Stubber]) -> None:
    mwaa, stubber = stubbed
    stubber.add_response(
        "create_web_login_token",
        {"WebToken": "abc", "WebServerHostname": "x.c2.us-east-1.airflow.amazonaws.com"},
        {"Name": ENV},
    )
    assert (
        _client(mwaa).web_login_url()
        == "https://x.c2.us-east-1.airflow.amazonaws.com/aws_mwaa/aws-console-sso?login=true#abc"
    )


@pytest.mark.parametrize(
    ("hostname", "expected"),
    [
        ("abc.c2.us-east-1.airflow.amazonaws.com", "https://abc.c2.us-east-1.airflow.amazonaws.com"),
        ("127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("localhost:1", "http://localhost:1"),
        ("[::1]:5", "http://[::1]:5"),
        ("https://abc.example.com", "https://abc.example.com"),
    ],
)
def test_plain_http_only_for_loopback(hostname: str, expected: str) -> None:
    assert web_server_base_url(hostname) == expected


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(MwaaProtocolError, match="refusing plain http to example.com"):
        web_server_base_url("http://example.com")
    assert not is_loopback_host("10.0.0.1:80")
    assert is_loopback_host("127.0.0.2")


@pytest.mark.parametrize(
    ("stderr", "failed"),
    [
        ("", False),
        ("/x/configuration.py:859 FutureWarning: deprecated\n  warnings.warn(\n", False),
        ("[2024-01-01T00:00:00.000+0000] {cli.py:1} INFO - fine\n", False),
        ("Variable missing does not exist\n", True),
        ("airflow command error: argument GROUP_OR_COMMAND: invalid choice\n", True),
        ("Traceback (most recent call last):\n  File 'x'\nValueError: x\n", True),
    ],
    ids=["empty", "warning", "info-log", "system-exit", "usage", "traceback"],
)
def test_failure_is_read_from_stderr(stderr: str, failed: bool) -> None:
    assert stderr_looks_failed(stderr) is failed


def test_decode_keeps_non_ascii() -> None:
    assert decode_cli_response(ok_body("日本", "é")) == ("日本", "é")


@pytest.mark.parametrize(
    "kwargs",
    [{"max_concurrency": 5}, {"max_concurrency": 0}, {"max_attempts": 0}, {"token_margin": 60}],
    ids=["too-many", "zero", "attempts", "margin"],
)
def test_bad_settings_are_usage_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        MwaaEnvironmentClient(ENV, **kwargs)


def test_a_command_waiting_for_its_turn_never_sends_an_aged_token() -> None:
    # Three commands, one at a time, each taking 0.3 s of the client's clock: the last waits 0.6 s,
    # longer than the token lives. The server moves the clock: no sleep, whatever the machine's load.
    mwaa = boto3.client(
        "mwaa",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        endpoint_url="http://127.0.0.1:9",
    )
    clock = FakeClock()
    with (
        Stubber(mwaa) as stubber,
        scripted_server([(200, ok_body("ok"))], on_request=lambda: clock.advance(0.3)) as web,
    ):
        _tokens(stubber, web.host, 3)
        client = _client(mwaa, token_lifetime=0.5, token_margin=0.1, clock=clock)
        threads = [threading.Thread(target=client.run, args=("version",)) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(web.requests) == 3
    assert client.stats.max_token_age_at_send == pytest.approx(0.3)  # the third command's token was new
    assert client.stats.token_calls == 2
    assert client.stats.http_401_403 == 0
