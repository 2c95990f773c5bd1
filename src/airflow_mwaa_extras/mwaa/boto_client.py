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

from airflow_mwaa_extras.mwaa.web_server_urls import is_loopback_host

if TYPE_CHECKING:
    from botocore.config import Config

__all__ = ["create_mwaa_client", "mwaa_client_config"]


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
    """
    import boto3

    config = mwaa_client_config(
        endpoint_url=endpoint_url, connect_timeout=connect_timeout, read_timeout=read_timeout
    )
    session = session or boto3.session.Session()
    return session.client("mwaa", region_name=region_name, endpoint_url=endpoint_url, config=config)
