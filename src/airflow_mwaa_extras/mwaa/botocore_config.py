"""The botocore ``Config`` of every boto3 ``mwaa`` client the package makes.

Used by :func:`~airflow_mwaa_extras.mwaa.client.create_mwaa_client` and by
:class:`~airflow_mwaa_extras.hooks.mwaa_environment.MwaaEnvironmentHook`, which hands it to the
amazon provider's ``AwsBaseHook`` on top of the connection's own ``config_kwargs``.
No Airflow import.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from airflow_mwaa_extras.mwaa.client import is_loopback_host

if TYPE_CHECKING:
    from botocore.config import Config

__all__ = ["mwaa_client_config"]


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
