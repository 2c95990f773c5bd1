"""Call the Airflow REST API of an MWAA environment through MWAA's ``InvokeRestApi`` operation.

``mwaa_client.invoke_rest_api(Name, Path, Method, QueryParameters, Body)`` sends one request to
the environment's Airflow REST API (``/api/v1`` on Airflow 2, ``/api/v2`` on Airflow 3; the
path is given without that prefix) and answers ``RestApiStatusCode`` and ``RestApiResponse``.
MWAA's limits, enforced or handled here:

- the path is at most 64 characters (checked before any call);
- MWAA waits 10 seconds for the web server and returns at most 6 MB: list calls should page;
- about 10 requests a second per environment: ``ThrottlingException`` is retried with bounded
  exponential backoff and jitter, and this client spaces its own calls by ``min_interval``.
  This loop is the only retry layer: botocore's retries are off (``total_max_attempts=1``), so
  a POST is never resent underneath after it may have run; a POST whose answer was lost (read
  timeout, 5xx) raises :class:`~airflow_mwaa_extras.mwaa.errors.MwaaCommandMayHaveRunError`;
- the operation exists only in newer botocore (MWAA 2.9.2 and 2.10.3 ship a botocore without it):
  :func:`supports_invoke_rest_api` tells, :class:`RestApiUnavailableError` says so;
- ``AccessDeniedException`` (no ``airflow:InvokeRestApi`` grant on any Airflow role) raises
  :class:`RestApiAccessDeniedError`, and an Airflow 403 (the granted role, e.g. ``Viewer``, may
  not do this) raises :class:`RestApiForbiddenError`; both name the IAM grant to add.

A remote Airflow error (4xx/5xx) raises :class:`RestApiError` carrying the remote status and
body. No Airflow import.

Over 350 lines, one job: the client, its one retry loop and the errors it raises are one
interface; MWAA's limits are documented here because this is where they are enforced.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.mwaa.api_errors import THROTTLED_CODES
from airflow_mwaa_extras.mwaa.boto_client import EnvironmentApiClient
from airflow_mwaa_extras.mwaa.counters import Counters
from airflow_mwaa_extras.mwaa.errors import (
    MwaaAccessDeniedError,
    MwaaCommandMayHaveRunError,
    MwaaEnvironmentNotFoundError,
    MwaaError,
    MwaaThrottledError,
    MwaaUnreachableError,
)

OPERATION = "InvokeRestApi"
MAX_PATH_LENGTH = 64
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
REMOTE_TIMEOUT_SECONDS = 10.0
METHODS = ("GET", "PUT", "POST", "PATCH", "DELETE")
_DENIED_CODES = {"AccessDeniedException", "AccessDenied"}


class RestApiError(MwaaError):
    """The remote Airflow REST API answered with an error status.

    :param status: the remote Airflow's HTTP status (``RestApiStatusCode``)
    :param response: the remote Airflow's JSON body (``RestApiResponse``)
    :param method: the HTTP method sent
    :param path: the REST API path sent
    :param environment: the MWAA environment name
    """

    def __init__(self, status: int, response: Any, method: str, path: str, environment: str) -> None:
        self.status = status
        self.response = response
        self.method = method
        self.path = path
        self.environment = environment
        super().__init__(
            f"{method} {path} in {environment} returned HTTP {status}: {describe_response(response)}"
        )


class RestApiNotFoundError(RestApiError):
    """The remote REST API answered 404 (no such DAG, run or task)."""


class RestApiConflictError(RestApiError):
    """The remote REST API answered 409 (e.g. a DAG run with that id already exists)."""


class RestApiForbiddenError(RestApiError):
    """The remote Airflow answered 403: the Airflow role IAM maps the caller to may not do this."""


def grant_hint(environment: str, region: str | None, role: str = "Op") -> str:
    """The IAM grant that gives the caller an Airflow role on InvokeRestApi."""
    arn = f"arn:aws:airflow:{region or 'REGION'}:ACCOUNT_ID:role/{environment}/{role}"
    return f"grant airflow:InvokeRestApi on {arn} (or use transport='cli' with airflow:CreateCliToken)"


class RestApiAccessDeniedError(MwaaAccessDeniedError):
    """IAM denied ``airflow:InvokeRestApi`` (callers may fall back to the CLI endpoint)."""


class RestApiUnavailableError(MwaaError):
    """The installed botocore has no InvokeRestApi operation (it arrived in botocore 1.35.7x)."""


class RestApiPathError(UsageError):
    """The REST API path or method is not one MWAA accepts (64 characters at most, starts with /)."""


def describe_response(response: Any, limit: int = 300) -> str:
    """A short one-line description of a remote error body (Airflow's ``title``/``detail``)."""
    if isinstance(response, Mapping):
        for key in ("detail", "title", "message", "Message"):
            value = response.get(key)
            if value:
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                return " ".join(text.split())[:limit]
    if response in (None, "", {}):
        return "no details"
    return " ".join(json.dumps(response, ensure_ascii=False, default=str).split())[:limit]


def supports_invoke_rest_api(mwaa_client: Any = None) -> bool:
    """Whether botocore knows the InvokeRestApi operation (of ``mwaa_client``, or the installed one).

    :param mwaa_client: a boto3 ``mwaa`` client; when None the installed botocore's model is read
    """
    if mwaa_client is not None:
        return OPERATION in mwaa_client.meta.service_model.operation_names
    import botocore.session

    model = botocore.session.get_session().get_service_model("mwaa")
    return OPERATION in model.operation_names


def check_path(path: str, method: str) -> tuple[str, str]:
    """Validate what MWAA validates; returns ``(path, METHOD)``.

    :raises RestApiPathError: empty path, no leading ``/``, over 64 characters, unknown method
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise RestApiPathError(f"a REST API path must start with '/', got {path!r}")
    if len(path) > MAX_PATH_LENGTH:
        raise RestApiPathError(
            f"InvokeRestApi paths are limited to {MAX_PATH_LENGTH} characters; {path[:40]!r}... has {len(path)}"
        )
    upper = str(method).upper()
    if upper not in METHODS:
        raise RestApiPathError(f"InvokeRestApi methods are {', '.join(METHODS)}; got {method!r}")
    return path, upper


@dataclass(frozen=True)
class RestApiResult:
    """A successful (2xx) answer of the remote REST API.

    :param status: the remote HTTP status
    :param body: the remote JSON body (``RestApiResponse``)
    :param attempts: InvokeRestApi calls it took (throttling retries included)
    """

    status: int
    body: Any
    attempts: int = 1


@dataclass
class RestApiStats(Counters):
    """Counters for one client."""

    calls: int = 0
    throttled: int = 0
    retries: int = 0


class MwaaRestApiClient(EnvironmentApiClient):
    """Send Airflow REST API requests to one MWAA environment through InvokeRestApi.

    :param environment_name: the MWAA environment name
    :param mwaa_client: a boto3 ``mwaa`` client (share the CLI client's); created when None
    :param region_name: AWS region when a client is created here
    :param endpoint_url: MWAA API endpoint when a client is created here
    :param max_attempts: calls per request when throttled (or, for GET, on 5xx/connection errors)
    :param backoff_base: first retry delay in seconds (doubles each retry, with jitter)
    :param backoff_max: the longest retry delay
    :param min_interval: seconds between two calls of this client (MWAA allows about 10 a second)
    """

    def __init__(
        self,
        environment_name: str,
        *,
        mwaa_client: Any = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        min_interval: float = 0.1,
    ) -> None:
        # MWAA gives the web server 10 s; wait a little longer for MWAA itself.
        read_timeout = REMOTE_TIMEOUT_SECONDS + 20
        super().__init__(environment_name, mwaa_client, region_name, endpoint_url, read_timeout=read_timeout)
        if int(max_attempts) < 1:
            raise UsageError(f"max_attempts must be at least 1, got {max_attempts}")
        self.max_attempts = int(max_attempts)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.min_interval = float(min_interval)
        self.stats = RestApiStats()
        self._pace_lock = threading.Lock()
        self._last_call = 0.0

    @property
    def available(self) -> bool:
        """Whether the boto3 client has the InvokeRestApi operation."""
        return supports_invoke_rest_api(self.mwaa_client)

    def get(self, path: str, query: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` and return the remote JSON body.

        :param path: REST API path without ``/api/v1`` or ``/api/v2``
        :param query: query parameters
        """
        return self.invoke("GET", path, query=query).body

    def invoke(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> RestApiResult:
        """One REST API request; retries throttling (and, for GET, transient failures).

        :param method: ``GET``, ``POST``, ``PUT``, ``PATCH`` or ``DELETE``
        :param path: REST API path without ``/api/v1`` or ``/api/v2`` (64 characters at most)
        :param query: query parameters (``QueryParameters``)
        :param body: JSON body (``Body``)
        :raises RestApiError: the remote Airflow answered 4xx/5xx (``.status``, ``.response``)
        :raises RestApiAccessDeniedError: IAM denied InvokeRestApi
        :raises RestApiUnavailableError: botocore has no InvokeRestApi
        :raises MwaaThrottledError: still throttled after ``max_attempts`` calls
        """
        path, method = check_path(path, method)
        client = self.mwaa_client
        if not supports_invoke_rest_api(client):
            import botocore

            raise RestApiUnavailableError(
                f"botocore {botocore.__version__} has no InvokeRestApi; upgrade boto3/botocore or use the CLI endpoint"
            )
        kwargs: dict[str, Any] = {"Name": self.environment_name, "Path": path, "Method": method}
        if query:
            kwargs["QueryParameters"] = dict(query)
        if body is not None:
            kwargs["Body"] = dict(body)
        idempotent = method == "GET"
        attempt = 0
        while True:
            attempt += 1
            retry_reason = self._call_once(client, kwargs, idempotent)
            if isinstance(retry_reason, RestApiResult):
                return RestApiResult(retry_reason.status, retry_reason.body, attempt)
            if attempt >= self.max_attempts:
                if retry_reason.startswith("throttled"):
                    raise MwaaThrottledError(
                        f"InvokeRestApi {method} {path} on {self.environment_name} was still throttled "
                        f"after {attempt} attempts"
                    )
                raise MwaaUnreachableError(
                    f"InvokeRestApi {method} {path} on {self.environment_name} failed after {attempt} attempts: "
                    f"{retry_reason}"
                )
            self.stats.add(retries=1)
            time.sleep(self._backoff(attempt))

    def _pace(self) -> None:
        with self._pace_lock:
            wait = self._last_call + self.min_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last_call = time.monotonic()

    def _backoff(self, retry: int) -> float:
        ceiling: float = min(self.backoff_max, self.backoff_base * 2.0 ** (retry - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # equal jitter

    def _call_once(self, client: Any, kwargs: dict[str, Any], idempotent: bool) -> RestApiResult | str:
        """A result, or why to retry (raises for everything that must not be retried)."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectTimeoutError,
            EndpointConnectionError,
            HTTPClientError,
            ReadTimeoutError,
        )

        method, path = kwargs["Method"], kwargs["Path"]
        self._pace()
        self.stats.add(calls=1)
        try:
            response = client.invoke_rest_api(**kwargs)
        except ClientError as err:
            return self._client_error(err, method, path, idempotent)
        except (EndpointConnectionError, ConnectTimeoutError) as err:
            # Nothing reached MWAA: safe to retry any method.
            return f"cannot reach the MWAA API: {err}"
        except HTTPClientError as err:
            # The request went out and no answer came (read timeout, reset, closed): it may have run.
            why = "no answer in time" if isinstance(err, ReadTimeoutError) else "the connection broke"
            if idempotent:
                return f"{why}: {err}"
            raise MwaaCommandMayHaveRunError(f"{method} {path}", self.environment_name, why) from None
        except BotoCoreError as err:
            raise MwaaError(
                f"InvokeRestApi {method} {path} on {self.environment_name} failed: {err}"
            ) from None
        status = int(response.get("RestApiStatusCode") or 200)
        body = response.get("RestApiResponse")
        if status >= 400:  # MWAA raises for these, but a proxy might not
            raise _remote_error(status, body, method, path, self.environment_name)
        return RestApiResult(status, body)

    def _client_error(self, err: Any, method: str, path: str, idempotent: bool) -> str:
        response = err.response
        error = response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", "")).strip() or code
        where = f"InvokeRestApi {method} {path} on {self.environment_name}"
        if code in ("RestApiClientException", "RestApiServerException"):
            status = int(
                response.get("RestApiStatusCode") or (400 if code == "RestApiClientException" else 500)
            )
            remote = response.get("RestApiResponse")
            if code == "RestApiServerException" and (status in (502, 503, 504) or not idempotent):
                if idempotent:
                    return f"the remote REST API answered HTTP {status}"
                raise MwaaCommandMayHaveRunError(
                    f"{method} {path}", self.environment_name, f"remote HTTP {status}"
                ) from None
            error = _remote_error(status, remote, method, path, self.environment_name)
            if isinstance(error, RestApiForbiddenError):
                region = getattr(getattr(self.mwaa_client, "meta", None), "region_name", None)
                raise RestApiForbiddenError(
                    status,
                    {
                        "detail": f"{describe_response(remote)}; the caller's Airflow role may not do this: "
                        f"{grant_hint(self.environment_name, region)}"
                    },
                    method,
                    path,
                    self.environment_name,
                ) from None
            raise error from None
        if code in THROTTLED_CODES:
            self.stats.add(throttled=1)
            return f"throttled ({code})"
        if code in _DENIED_CODES:
            region = getattr(getattr(self.mwaa_client, "meta", None), "region_name", None)
            raise RestApiAccessDeniedError(
                f"{where} was denied: {message}; {grant_hint(self.environment_name, region)}"
            ) from None
        if code == "ResourceNotFoundException":
            raise MwaaEnvironmentNotFoundError(
                f"no MWAA environment named {self.environment_name!r} (InvokeRestApi: {message})"
            ) from None
        if code == "ValidationException":
            raise RestApiPathError(f"{where} was rejected as invalid: {message}") from None
        if code == "InternalServerException":
            if idempotent:
                return f"MWAA internal error: {message}"
            raise MwaaCommandMayHaveRunError(
                f"{method} {path}", self.environment_name, f"MWAA internal error: {message}"
            ) from None
        raise MwaaError(f"{where} failed ({code}): {message}") from None


def _remote_error(status: int, body: Any, method: str, path: str, environment: str) -> RestApiError:
    if status == 404:
        return RestApiNotFoundError(status, body, method, path, environment)
    if status == 409:
        return RestApiConflictError(status, body, method, path, environment)
    if status == 403:
        return RestApiForbiddenError(status, body, method, path, environment)
    return RestApiError(status, body, method, path, environment)
