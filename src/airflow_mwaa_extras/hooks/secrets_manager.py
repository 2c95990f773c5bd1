"""Read a secret from AWS Secrets Manager and register it with Airflow's secrets masker first.

MWAA's guide reads secrets with ``get_secret_value`` and then prints or returns them, so they
land in task logs and XCom. :class:`MaskedSecretsManagerHook` hands a value to the caller only
after the masker knows it, so any later log line shows ``***`` instead. Return values still go
to XCom unmasked: never return a secret from a task.

Airflow's masker ignores values shorter than ``[logging] min_length_masked_secret`` (5 by
default on Airflow 3), and a dict is masked only under sensitive key names, so every string in
a JSON secret is registered on its own here.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

from airflow.providers.amazon.aws.hooks.secrets_manager import SecretsManagerHook

from airflow_mwaa_extras import version_compat
from airflow_mwaa_extras.exceptions import MwaaExtrasError

__all__ = ["MaskedSecretsManagerHook", "SecretNotFoundError", "get_masked_secret", "mask_value"]


class SecretNotFoundError(MwaaExtrasError):
    """The secret does not exist (or the role may not read it)."""


def _mask_secret_function() -> Callable[..., None]:
    if version_compat.AIRFLOW_V_3_0_PLUS and not version_compat.AIRFLOW_V_3_1_PLUS:
        return _mask_secret_airflow_3_0
    return version_compat.mask_secret  # type: ignore[no-any-return]


def _mask_secret_airflow_3_0(secret: str) -> None:
    # Airflow 3.0 kept mask_secret here (3.1 moved it to airflow.sdk.log). Its mask_secret tells
    # the supervisor first and the local masker second, and the in-process supervisor of
    # `airflow tasks test` / `dags test` debug-logs the MaskSecret message with its value to
    # stdout in between. Registering locally first makes that line print *** instead.
    module = importlib.import_module("airflow.sdk.execution_time.secrets_masker")
    module._secrets_masker().add_mask(secret)
    module.mask_secret(secret)


def mask_value(value: Any) -> None:
    """Register ``value`` (a string, or every string inside a dict or list) with the masker."""
    mask_secret = _mask_secret_function()
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        if value:
            mask_secret(value)
    elif isinstance(value, dict):
        for item in value.values():
            mask_value(item)
    elif isinstance(value, list | tuple):
        for item in value:
            mask_value(item)


class MaskedSecretsManagerHook(SecretsManagerHook):
    """The amazon provider's ``SecretsManagerHook``, masking every value it returns.

    :param aws_conn_id: the AWS connection (default ``aws_default``, the execution role on MWAA).
    :param region_name: AWS region; default from the connection.
    """

    def get_secret(self, secret_name: str) -> str | bytes:
        """The secret's value, masked in logs from now on.

        :param secret_name: the secret's name or ARN.
        :raises SecretNotFoundError: when the secret does not exist.
        """
        client = self.get_conn()
        try:
            value: str | bytes = super().get_secret(secret_name)
        except client.exceptions.ResourceNotFoundException:  # type: ignore[attr-defined]  # boto3-stubs
            raise SecretNotFoundError(f"secret {secret_name!r} not found in Secrets Manager") from None
        mask_value(value)
        return value

    def get_secret_as_dict(self, secret_name: str) -> dict[str, Any]:
        """A JSON secret as a dict; every string in it is masked.

        :param secret_name: the secret's name or ARN.
        """
        raw = self.get_secret(secret_name)
        try:
            document = json.loads(raw)
        except ValueError:
            raise MwaaExtrasError(f"secret {secret_name!r} does not hold JSON") from None
        if not isinstance(document, dict):
            raise MwaaExtrasError(f"secret {secret_name!r} does not hold a JSON object")
        mask_value(document)
        return document

    def get_variable_secret(
        self, key: str, variables_prefix: str = "airflow/variables", sep: str = "/"
    ) -> str:
        """A variable stored the way the Secrets Manager backend reads it, masked.

        :param key: the variable key.
        :param variables_prefix: the backend's ``variables_prefix``.
        :param sep: the backend's separator.
        """
        value = self.get_secret(f"{variables_prefix.rstrip(sep)}{sep}{key}" if variables_prefix else key)
        return value.decode() if isinstance(value, bytes) else value


def get_masked_secret(
    secret_name: str, aws_conn_id: str | None = "aws_default", region_name: str | None = None
) -> str:
    """Read one secret string and register it with the masker (for ``@task`` code).

    :param secret_name: the secret's name or ARN.
    :param aws_conn_id: the AWS connection.
    :param region_name: AWS region; default from the connection.
    """
    hook = MaskedSecretsManagerHook(aws_conn_id=aws_conn_id, region_name=region_name)  # type: ignore[no-untyped-call]
    value = hook.get_secret(secret_name)
    return value.decode() if isinstance(value, bytes) else value
