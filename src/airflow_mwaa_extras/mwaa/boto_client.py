"""The boto3 ``mwaa`` client every L0 caller uses: timeouts set, botocore's retries off.

:class:`~airflow_mwaa_extras.mwaa.client.MwaaEnvironmentClient`,
:class:`~airflow_mwaa_extras.mwaa.rest_api.MwaaRestApiClient` and the hooks build their client
here (boto3 is imported inside the function).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from airflow_mwaa_extras.mwaa.web_server_urls import is_loopback_host

__all__ = ["create_mwaa_client"]


def create_mwaa_client(
    *,
    region_name: str | None = None,
    endpoint_url: str | None = None,
    session: Any = None,
    connect_timeout: float = 10.0,
    read_timeout: float = 60.0,
) -> Any:
    """A boto3 ``mwaa`` client with timeouts and no botocore retries (the callers retry).

    For a loopback endpoint (the local stand-in) botocore must not prepend the ``env.`` /
    ``api.`` host prefixes of the MWAA API model (``env.127.0.0.1`` does not resolve).

    :param session: a boto3 Session (e.g. from an Airflow hook); a default one when None
    """
    import boto3
    from botocore.config import Config

    endpoint: str = (
        endpoint_url or os.environ.get("AWS_ENDPOINT_URL_MWAA") or os.environ.get("AWS_ENDPOINT_URL") or ""
    )
    loopback = bool(endpoint) and is_loopback_host(urlsplit(endpoint).netloc)
    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        # One retry layer: ours (MwaaEnvironmentClient._call_api, MwaaRestApiClient.invoke), which
        # never resends a POST that may have run. botocore's standard mode would resend InvokeRestApi
        # after a read timeout, underneath ours.
        retries={"mode": "standard", "total_max_attempts": 1},
        inject_host_prefix=not loopback,
    )
    session = session or boto3.session.Session()
    return session.client("mwaa", region_name=region_name, endpoint_url=endpoint_url, config=config)
