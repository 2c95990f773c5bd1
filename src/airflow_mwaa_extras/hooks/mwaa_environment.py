"""An Airflow hook for other MWAA environments: their CLI endpoint, InvokeRestApi and DAG runs."""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

from airflow_mwaa_extras.mwaa.boto_client import mwaa_client_config
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.mwaa.dag_runs import RemoteDagRuns, check_transport
from airflow_mwaa_extras.mwaa.rest_api import MwaaRestApiClient

if TYPE_CHECKING:
    import logging

    from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper
    from botocore.config import Config

__all__ = ["MwaaEnvironmentHook"]


class MwaaEnvironmentHook(AwsBaseHook):
    """Reach (other) MWAA environments with the ``aws`` connection's identity and settings.

    ``hook.conn`` (``hook.get_conn()``) is the boto3 ``mwaa`` client, made by ``AwsBaseHook``:
    the connection's credentials, ``verify``, ``config_kwargs`` (or the hook's ``config``) and
    the amazon provider's user agent reach it. On top of them botocore makes one attempt per
    call (this package's clients retry, and never resend a call that may have run) and, for a
    loopback endpoint, adds no host prefix.

    The MWAA API endpoint is, most specific first: the connection's
    ``extra.service_config.mwaa.endpoint_url``, ``$AWS_ENDPOINT_URL_MWAA``, the connection's
    ``endpoint_url``, boto3's default. The caller needs ``airflow:CreateCliToken`` for the CLI
    endpoint, ``airflow:InvokeRestApi`` for the REST API, and ``airflow:GetEnvironment``
    (the environment's Airflow version) unless ``airflow_version`` is given.

    :param aws_conn_id: the Airflow ``aws`` connection (default ``aws_default``)
    :param region_name: the AWS region; the connection's when not given
    """

    def __init__(
        self, *, aws_conn_id: str | None = "aws_default", region_name: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(aws_conn_id=aws_conn_id, region_name=region_name, client_type="mwaa", **kwargs)
        self._clients: dict[str, MwaaEnvironmentClient] = {}

    @cached_property
    def conn_config(self) -> AwsConnectionWrapper:
        wrapper = super().conn_config
        from_env = os.environ.get("AWS_ENDPOINT_URL_MWAA")
        mwaa = wrapper.get_service_config("mwaa")
        if from_env and not mwaa.get("endpoint_url"):
            # The documented order: the MWAA-specific variable is more specific than the
            # connection's endpoint_url for every service (botocore would rank it below).
            wrapper.service_config = {**wrapper.service_config, "mwaa": {**mwaa, "endpoint_url": from_env}}
        return wrapper

    @property
    def mwaa_endpoint_url(self) -> str | None:
        """Where this hook sends MWAA API calls (None: boto3's default for the region)."""
        endpoint: str | None = self.conn_config.get_service_endpoint_url("mwaa") or None
        return endpoint

    def get_client_type(
        self, region_name: str | None = None, config: Config | None = None, deferrable: bool = False
    ) -> Any:
        """``AwsBaseHook``'s client, with this package's rules over the connection's botocore config."""
        ours = mwaa_client_config(endpoint_url=self.mwaa_endpoint_url, base=config or self.config)
        return super().get_client_type(region_name=region_name, config=ours, deferrable=deferrable)

    def get_environment_client(self, environment_name: str, **kwargs: Any) -> MwaaEnvironmentClient:
        """The CLI endpoint client of one environment (one per name for this hook: the token is reused).

        :param environment_name: the MWAA environment name
        :param kwargs: passed to :class:`MwaaEnvironmentClient` (``max_concurrency``, ``timeout``,
            ``max_attempts``, ``airflow_version``); a client made with them replaces the cached one
        """
        client = self._clients.get(environment_name)
        if client is None or kwargs:
            client = MwaaEnvironmentClient(
                environment_name,
                mwaa_client=self.conn,
                region_name=self.region_name,
                endpoint_url=self.mwaa_endpoint_url,
                **kwargs,
            )
            self._clients[environment_name] = client
        return client

    def get_rest_api_client(self, environment_name: str, **kwargs: Any) -> MwaaRestApiClient:
        """The InvokeRestApi client of one environment (Airflow's REST API through MWAA).

        :param environment_name: the MWAA environment name
        :param kwargs: passed to :class:`MwaaRestApiClient` (``max_attempts``, ``min_interval``...)
        """
        return MwaaRestApiClient(environment_name, mwaa_client=self.conn, **kwargs)

    def get_remote_dag_runs(
        self,
        environment_name: str,
        *,
        transport: str = "auto",
        logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    ) -> RemoteDagRuns:
        """Trigger and follow DAG runs in ``environment_name`` (see :class:`RemoteDagRuns`).

        :param transport: ``auto`` (InvokeRestApi when botocore has it, else the CLI endpoint),
            ``rest_api`` or ``cli``
        :param logger: where the transport choice and fallbacks are logged (a task's ``self.log``)
        """
        check_transport(transport)  # before the connection is read
        return RemoteDagRuns(
            environment_name,
            transport=transport,
            cli_client=self.get_environment_client(environment_name),
            rest_client=self.get_rest_api_client(environment_name),
            logger=logger,
        )
