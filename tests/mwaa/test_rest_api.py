"""InvokeRestApi: limits, throttling, AccessDenied and remote errors (botocore's Stubber)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.mwaa.boto_client import EnvironmentApiClient
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.mwaa.errors import (
    MwaaCommandMayHaveRunError,
    MwaaEnvironmentNotFoundError,
    MwaaThrottledError,
)
from airflow_mwaa_extras.mwaa.rest_api import (
    MAX_PATH_LENGTH,
    MwaaRestApiClient,
    RestApiAccessDeniedError,
    RestApiConflictError,
    RestApiError,
    RestApiNotFoundError,
    RestApiPathError,
    RestApiUnavailableError,
    check_path,
    describe_response,
    supports_invoke_rest_api,
)
from tests.remote_envs import NO_INVOKE_REST_API


def _mwaa_client() -> Any:
    import boto3

    return boto3.client(
        "mwaa",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


HAS_OPERATION = supports_invoke_rest_api(_mwaa_client())
needs_operation = pytest.mark.skipif(not HAS_OPERATION, reason=NO_INVOKE_REST_API)


@pytest.fixture
def stubbed() -> Iterator[tuple[MwaaRestApiClient, Any]]:
    from botocore.stub import Stubber

    client = _mwaa_client()
    rest = MwaaRestApiClient("env-b", mwaa_client=client, backoff_base=0.01, backoff_max=0.02, min_interval=0)
    with Stubber(client) as stubber:
        yield rest, stubber
        stubber.assert_no_pending_responses()


def test_detection_matches_the_installed_botocore() -> None:
    import botocore
    from packaging.version import Version

    # botocore gained InvokeRestApi in 1.35.7x; MWAA 2.10.3's 1.35.36 predates it.
    assert supports_invoke_rest_api() is HAS_OPERATION
    if Version(botocore.__version__) <= Version("1.35.36"):
        assert not HAS_OPERATION
    if Version(botocore.__version__) >= Version("1.36"):
        assert HAS_OPERATION


@pytest.mark.skipif(HAS_OPERATION, reason="only where botocore lacks InvokeRestApi")
def test_without_the_operation_says_so_before_any_call() -> None:
    rest = MwaaRestApiClient("env-b", mwaa_client=_mwaa_client())
    assert not rest.available
    with pytest.raises(RestApiUnavailableError, match="has no InvokeRestApi"):
        rest.get("/dags")


@pytest.mark.parametrize(
    ("path", "method", "match"),
    [
        pytest.param("/" + "d" * MAX_PATH_LENGTH, "GET", "limited to 64", id="path-65-chars"),
        pytest.param("dags", "GET", "must start with", id="no-leading-slash"),
        pytest.param("", "GET", "must start with", id="empty"),
        pytest.param("/dags", "HEAD", "methods are", id="bad-method"),
    ],
)
def test_invalid_paths_and_methods_are_refused_locally(path: str, method: str, match: str) -> None:
    with pytest.raises(RestApiPathError, match=match):
        check_path(path, method)
    # refused before botocore is even asked (no Stubber response queued: a call would fail)
    rest = MwaaRestApiClient("env-b", mwaa_client=_mwaa_client())
    with pytest.raises(RestApiPathError):
        rest.invoke(method, path)


@pytest.mark.parametrize("client_class", [MwaaRestApiClient, MwaaEnvironmentClient])
def test_no_region_anywhere_is_one_line_for_both_clients(
    client_class: type[EnvironmentApiClient], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL_MWAA", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no region from an instance either
    client = client_class("env-b")
    assert repr(client) == f"{client_class.__name__}('env-b')"
    with pytest.raises(UsageError, match="^no AWS region configured: pass --region"):
        _ = client.mwaa_client


def test_an_environment_name_is_needed() -> None:
    for client_class in (MwaaRestApiClient, MwaaEnvironmentClient):
        with pytest.raises(UsageError, match="an MWAA environment name is needed"):
            client_class("")


def test_a_64_character_path_is_accepted() -> None:
    path = "/" + "d" * (MAX_PATH_LENGTH - 1)
    assert check_path(path, "post") == (path, "POST")


@needs_operation
def test_success_returns_status_and_body(stubbed: tuple[MwaaRestApiClient, Any]) -> None:
    rest, stubber = stubbed
    stubber.add_response(
        "invoke_rest_api",
        {"RestApiStatusCode": 200, "RestApiResponse": {"dag_run_id": "r1", "state": "queued"}},
        {"Name": "env-b", "Path": "/dags/d/dagRuns/r1", "Method": "GET", "QueryParameters": {"x": 1}},
    )
    result = rest.invoke("get", "/dags/d/dagRuns/r1", query={"x": 1})
    assert (result.status, result.body, result.attempts) == (200, {"dag_run_id": "r1", "state": "queued"}, 1)


@needs_operation
def test_throttling_backs_off_and_retries(stubbed: tuple[MwaaRestApiClient, Any]) -> None:
    rest, stubber = stubbed
    for _ in range(2):
        stubber.add_client_error("invoke_rest_api", "ThrottlingException", "Rate exceeded", 429)
    stubber.add_response("invoke_rest_api", {"RestApiStatusCode": 200, "RestApiResponse": {"ok": True}})
    random.seed(1)
    result = rest.invoke("POST", "/dags/d/dagRuns", body={"dag_run_id": "r"})
    assert result.attempts == 3
    assert (rest.stats.throttled, rest.stats.retries, rest.stats.calls) == (2, 2, 3)


@needs_operation
def test_throttling_is_bounded(stubbed: tuple[MwaaRestApiClient, Any]) -> None:
    rest, stubber = stubbed
    rest.max_attempts = 3
    for _ in range(3):
        stubber.add_client_error("invoke_rest_api", "ThrottlingException", "Rate exceeded", 429)
    with pytest.raises(MwaaThrottledError, match="still throttled after 3 attempts"):
        rest.get("/dags")


def test_backoff_is_bounded_and_jittered() -> None:
    rest = MwaaRestApiClient("env-b", mwaa_client=object(), backoff_base=0.5, backoff_max=4.0)
    delays = [rest._backoff(retry) for retry in range(1, 9) for _ in range(20)]
    assert max(delays) <= 4.0
    assert min(delays) >= 0.25
    assert len({round(d, 6) for d in delays}) > 10  # jitter: not a fixed schedule


@needs_operation
def test_access_denied_is_a_distinct_error(stubbed: tuple[MwaaRestApiClient, Any]) -> None:
    from airflow_mwaa_extras.mwaa.errors import MwaaAccessDeniedError

    rest, stubber = stubbed
    stubber.add_client_error(
        "invoke_rest_api",
        "AccessDeniedException",
        "User is not authorized to perform: airflow:InvokeRestApi",
        403,
    )
    with pytest.raises(RestApiAccessDeniedError, match="airflow:InvokeRestApi") as info:
        rest.get("/dags")
    assert isinstance(info.value, MwaaAccessDeniedError)
    assert rest.stats.calls == 1  # never retried


@needs_operation
@pytest.mark.parametrize(
    ("code", "status", "error_type"),
    [
        pytest.param("RestApiClientException", 404, RestApiNotFoundError, id="404"),
        pytest.param("RestApiClientException", 409, RestApiConflictError, id="409"),
        pytest.param("RestApiClientException", 400, RestApiError, id="400"),
    ],
)
def test_remote_errors_carry_the_remote_status_and_body(
    stubbed: tuple[MwaaRestApiClient, Any], code: str, status: int, error_type: type[RestApiError]
) -> None:
    rest, stubber = stubbed
    remote = {"title": "DAG not found", "detail": "DAG with dag_id: 'nope' not found", "status": status}
    stubber.add_client_error(
        "invoke_rest_api",
        code,
        "The Apache Airflow REST API returned an error",
        400,
        modeled_fields={"RestApiStatusCode": status, "RestApiResponse": remote},
    )
    with pytest.raises(error_type) as info:
        rest.invoke("POST", "/dags/nope/dagRuns", body={"conf": {}})
    assert type(info.value) is error_type
    assert info.value.status == status
    assert info.value.response == remote
    assert f"HTTP {status}" in str(info.value)
    assert "DAG with dag_id: 'nope' not found" in str(info.value)
    assert rest.stats.calls == 1


@needs_operation
def test_unknown_environment(stubbed: tuple[MwaaRestApiClient, Any]) -> None:
    rest, stubber = stubbed
    stubber.add_client_error(
        "invoke_rest_api", "ResourceNotFoundException", "Environment env-b not found", 404
    )
    with pytest.raises(MwaaEnvironmentNotFoundError, match="env-b"):
        rest.get("/dags")


@needs_operation
def test_a_gateway_timeout_is_retried_for_reads_only(stubbed: tuple[MwaaRestApiClient, Any]) -> None:
    rest, stubber = stubbed
    timeout = {"RestApiStatusCode": 504, "RestApiResponse": {"title": "Gateway Timeout"}}
    stubber.add_client_error(
        "invoke_rest_api", "RestApiServerException", "timeout", 400, modeled_fields=timeout
    )
    stubber.add_response("invoke_rest_api", {"RestApiStatusCode": 200, "RestApiResponse": {"dags": []}})
    assert rest.get("/dags") == {"dags": []}
    stubber.add_client_error(
        "invoke_rest_api", "RestApiServerException", "timeout", 400, modeled_fields=timeout
    )
    # a POST is never resent after it may have run
    with pytest.raises(MwaaCommandMayHaveRunError, match="may have run in env-b \\(remote HTTP 504\\)"):
        rest.invoke("POST", "/dags/d/dagRuns", body={})
    stubber.add_client_error(
        "invoke_rest_api", "RestApiServerException", "boom", 400, modeled_fields={"RestApiStatusCode": 500}
    )
    with pytest.raises(MwaaCommandMayHaveRunError, match="remote HTTP 500"):
        rest.invoke("POST", "/dags/d/dagRuns", body={})
    assert rest.stats.calls == 4


def test_describe_response_is_one_short_line() -> None:
    assert describe_response({"detail": "line one\nline two"}) == "line one line two"
    assert describe_response(None) == "no details"
    assert len(describe_response({"x": "y" * 1000})) <= 300
