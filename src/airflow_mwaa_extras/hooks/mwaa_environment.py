"""An Airflow hook that hands out :class:`~airflow_mwaa_extras.mwaa.client.MwaaEnvironmentClient` objects."""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

from airflow_mwaa_extras.mwaa.boto_client import create_mwaa_client
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient


class MwaaEnvironmentHook(AwsBaseHook):
    """Run Airflow CLI commands in (other) MWAA environments with the ``aws`` connection's identity.

    The MWAA API endpoint is, most specific first: the connection's
    ``extra.service_config.mwaa.endpoint_url``, ``$AWS_ENDPOINT_URL_MWAA``, the connection's
    ``endpoint_url``, boto3's default. The caller needs ``airflow:CreateCliToken`` (and
    ``airflow:GetEnvironment`` unless ``airflow_version`` is given to :meth:`get_environment_client`).

    :param aws_conn_id: the Airflow ``aws`` connection (default ``aws_default``)
    :param region_name: the AWS region; the connection's when not given
    """

    def __init__(
        self, *, aws_conn_id: str | None = "aws_default", region_name: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(aws_conn_id=aws_conn_id, region_name=region_name, client_type="mwaa", **kwargs)
        self._clients: dict[str, MwaaEnvironmentClient] = {}

    @cached_property
    def mwaa_endpoint_url(self) -> str | None:
        """Where this hook sends MWAA API calls (None: boto3's default for the region)."""
        service = self.conn_config.get_service_config("mwaa").get("endpoint_url")
        return service or os.environ.get("AWS_ENDPOINT_URL_MWAA") or self.conn_config.endpoint_url or None

    @cached_property
    def mwaa_client(self) -> Any:
        """A boto3 ``mwaa`` client from the connection's session (shared by every environment)."""
        return create_mwaa_client(
            region_name=self.region_name,
            endpoint_url=self.mwaa_endpoint_url,
            session=self.get_session(region_name=self.region_name),
        )

    def get_conn(self) -> Any:
        return self.mwaa_client

    def get_environment_client(self, environment_name: str, **kwargs: Any) -> MwaaEnvironmentClient:
        """The client for one environment (one per name for this hook, so the token is reused).

        :param environment_name: the MWAA environment name
        :param kwargs: passed to :class:`MwaaEnvironmentClient` (``max_concurrency``, ``timeout``,
            ``max_attempts``, ``airflow_version``)
        """
        client = self._clients.get(environment_name)
        if client is None or kwargs:
            client = MwaaEnvironmentClient(
                environment_name,
                mwaa_client=self.mwaa_client,
                region_name=self.region_name,
                endpoint_url=self.mwaa_endpoint_url,
                **kwargs,
            )
            self._clients[environment_name] = client
        return client
