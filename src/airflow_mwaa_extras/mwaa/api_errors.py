"""One MWAA control-plane call (CreateCliToken, GetEnvironment...), its botocore errors mapped.

Every botocore failure becomes one :mod:`~airflow_mwaa_extras.mwaa.errors` exception with a
one-line cause: a missing environment, denied access, throttling, an unreachable endpoint.
Callers retry :class:`~airflow_mwaa_extras.mwaa.errors.MwaaThrottledError` and
:class:`~airflow_mwaa_extras.mwaa.errors.MwaaUnreachableError`; botocore's own retries are off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.mwaa.errors import (
    MwaaAccessDeniedError,
    MwaaEnvironmentNotFoundError,
    MwaaError,
    MwaaThrottledError,
    MwaaUnreachableError,
)

__all__ = ["ACCESS_DENIED_CODES", "THROTTLED_CODES", "call_mwaa_api", "client_error"]

ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredTokenException",
        "ExpiredToken",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
    }
)
THROTTLED_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded"}
)


def call_mwaa_api(
    operation: str, method: Callable[..., Any], environment: str, **kwargs: Any
) -> dict[str, Any]:
    """``method(**kwargs)`` once, botocore's failures raised as MWAA errors.

    :param operation: the API operation's name, for messages (``"CreateCliToken"``)
    :param method: the bound boto3 method (``mwaa_client.create_cli_token``)
    :param environment: the environment name, for messages
    """
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        ReadTimeoutError,
    )

    try:
        return dict(method(**kwargs))
    except ClientError as err:
        raise client_error(err, operation, environment) from None
    except NoCredentialsError:
        raise MwaaAccessDeniedError(f"{operation}: no AWS credentials found") from None
    except NoRegionError:
        raise UsageError(
            f"{operation}: no AWS region configured (set region_name or AWS_DEFAULT_REGION)"
        ) from None
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as err:
        raise MwaaUnreachableError(f"{operation}: cannot reach the MWAA API: {err}") from None
    except BotoCoreError as err:
        raise MwaaError(f"{operation} failed: {err}") from None


def client_error(err: Any, operation: str, environment: str) -> MwaaError:
    """The MWAA error for a botocore ``ClientError`` of a control-plane call."""
    error = err.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")).strip() or code
    if (
        code == "ResourceNotFoundException"
        or err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404
    ):
        return MwaaEnvironmentNotFoundError(
            f"no MWAA environment named {environment!r} ({operation}: {message})"
        )
    if code in ACCESS_DENIED_CODES:
        return MwaaAccessDeniedError(f"{operation} on {environment} was denied: {message}")
    if code in THROTTLED_CODES:
        return MwaaThrottledError(f"{operation} on {environment} was throttled: {message}")
    return MwaaError(f"{operation} on {environment} failed ({code}): {message}")
