"""The boto3 ``mwaa`` client every caller uses, and its botocore ``Config``.

:class:`~airflow_mwaa_extras.mwaa.client.MwaaEnvironmentClient` and
:class:`~airflow_mwaa_extras.mwaa.rest_api.MwaaRestApiClient` build their client with
:func:`create_mwaa_client`; :class:`~airflow_mwaa_extras.hooks.mwaa_environment.MwaaEnvironmentHook`
hands :func:`mwaa_client_config` to the amazon provider's ``AwsBaseHook`` on top of the
connection's own ``config_kwargs``. boto3/botocore are imported inside the functions.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.mwaa.web_server_urls import is_loopback_host

if TYPE_CHECKING:
    from botocore.config import Config

__all__ = ["EnvironmentApiClient", "create_mwaa_client", "mwaa_client_config"]


def mwaa_client_config(
    *,
    endpoint_url: str | None = None,
    base: Config | None = None,
    connect_timeout: float = 10.0,
    read_timeout: float = 60.0,
) -> Config:
    """``base`` (e.g. a connection's ``config_kwargs``) over our default timeouts, then our rules.

    Our rules always win: one botocore attempt, because our retry layer
    (``MwaaEnvironmentClient._call_api``, ``MwaaRestApiClient.invoke``) must be the only one, and
    it never resends a POST that may have run (botocore's standard mode would resend
    InvokeRestApi after a read timeout); and no ``env.``/``api.`` host prefix for a loopback
    endpoint (the local stand-in: ``env.127.0.0.1`` does not resolve).

    :param endpoint_url: the MWAA API endpoint; ``$AWS_ENDPOINT_URL_MWAA`` or
        ``$AWS_ENDPOINT_URL`` (where botocore goes then) when None
    :param base: settings to keep (timeouts, proxies, user agent...)
    """
    from botocore.config import Config

    endpoint: str = (
        endpoint_url or os.environ.get("AWS_ENDPOINT_URL_MWAA") or os.environ.get("AWS_ENDPOINT_URL") or ""
    )
    loopback = bool(endpoint) and is_loopback_host(urlsplit(endpoint).netloc)
    config = Config(connect_timeout=connect_timeout, read_timeout=read_timeout)
    if base is not None:
        config = config.merge(base)
    ours = Config(retries={"mode": "standard", "total_max_attempts": 1})
    if loopback:
        ours = ours.merge(Config(inject_host_prefix=False))
    return config.merge(ours)


def create_mwaa_client(
    *,
    region_name: str | None = None,
    endpoint_url: str | None = None,
    session: Any = None,
    connect_timeout: float = 10.0,
    read_timeout: float = 60.0,
) -> Any:
    """A boto3 ``mwaa`` client with timeouts and no botocore retries (the callers retry).

    :param session: a boto3 Session (e.g. from an Airflow hook); a default one when None
    :raises UsageError: when no AWS region is given or configured
    """
    import boto3
    from botocore.exceptions import NoRegionError

    config = mwaa_client_config(
        endpoint_url=endpoint_url, connect_timeout=connect_timeout, read_timeout=read_timeout
    )
    session = session or boto3.session.Session()
    try:
        return session.client("mwaa", region_name=region_name, endpoint_url=endpoint_url, config=config)
    except NoRegionError:
        raise UsageError(
            "no AWS region configured: pass --region / region_name or set AWS_DEFAULT_REGION"
        ) from None


class EnvironmentApiClient:
    """What the CLI endpoint client and the InvokeRestApi client of one environment share: its
    name, and the boto3 ``mwaa`` client (the one given, or made on first use)."""

    def __init__(
        self,
        environment_name: str,
        mwaa_client: Any,
        region_name: str | None,
        endpoint_url: str | None,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float,
    ) -> None:
        if not environment_name or not isinstance(environment_name, str):
            raise UsageError("an MWAA environment name is needed")
        self.environment_name = environment_name
        self.region_name = region_name
        self.endpoint_url = endpoint_url
        self._mwaa_client = mwaa_client
        self._timeouts = (float(connect_timeout), float(read_timeout))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.environment_name!r})"

    @property
    def mwaa_client(self) -> Any:
        """The boto3 ``mwaa`` client (share it between the two clients of an environment)."""
        if self._mwaa_client is None:
            connect, read = self._timeouts
            self._mwaa_client = create_mwaa_client(
                region_name=self.region_name,
                endpoint_url=self.endpoint_url,
                connect_timeout=connect,
                read_timeout=read,
            )
        return self._mwaa_client
