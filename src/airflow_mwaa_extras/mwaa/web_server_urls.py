"""Where the CLI endpoint and the web login live, and which hosts may be reached over plain http.

MWAA's web server is always ``https``; plain ``http`` is allowed only for a loopback host (the
local stand-in), so a misconfigured host name never sends a CLI token in clear text.
``HTTPS_PROXY``/``NO_PROXY`` decide whether the CLI endpoint is reached through a proxy.
"""

from __future__ import annotations

import ipaddress
import urllib.request
from urllib.parse import urlsplit

from airflow_mwaa_extras.mwaa.errors import MwaaProtocolError
from airflow_mwaa_extras.mwaa.supported_commands import is_airflow_3

__all__ = [
    "CLI_PATH",
    "LOGIN_PATH",
    "LOGIN_PATH_V3",
    "is_loopback_host",
    "login_path",
    "proxy_for",
    "web_server_base_url",
]

CLI_PATH = "/aws_mwaa/cli"
LOGIN_PATH = "/aws_mwaa/aws-console-sso"
LOGIN_PATH_V3 = "/pluginsv2/aws_mwaa/aws-console-sso"  # MWAA 3 serves its plugin under /pluginsv2/


def is_loopback_host(host: str) -> bool:
    """``127.0.0.1``, ``::1`` and ``localhost`` (with or without a port) are loopback."""
    name = host
    if name.startswith("["):  # [::1]:8080
        name = name[1:].split("]", 1)[0]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def web_server_base_url(hostname: str) -> str:
    """``https://{hostname}``; plain ``http`` only for a loopback host (the local stand-in).

    :raises MwaaProtocolError: for an ``http://`` URL to a host that is not loopback
    """
    if "://" in hostname:
        parts = urlsplit(hostname)
        scheme, netloc = parts.scheme.lower(), parts.netloc
    else:
        scheme, netloc = ("http" if is_loopback_host(hostname) else "https"), hostname
    if not netloc:
        raise MwaaProtocolError(f"the web server host name {hostname!r} is empty or malformed")
    if scheme == "http" and not is_loopback_host(netloc):
        raise MwaaProtocolError(f"refusing plain http to {netloc}: only loopback hosts may use http")
    if scheme not in ("http", "https"):
        raise MwaaProtocolError(f"unsupported scheme {scheme!r} for the web server")
    return f"{scheme}://{netloc}"


def login_path(airflow_version: str) -> str:
    """The web login path: ``/aws_mwaa/aws-console-sso``, under ``/pluginsv2/`` on Airflow 3."""
    return LOGIN_PATH_V3 if is_airflow_3(airflow_version) else LOGIN_PATH


def proxy_for(netloc: str) -> str | None:
    """``host:port`` of the HTTPS proxy to use for ``netloc`` (``HTTPS_PROXY``, ``NO_PROXY``)."""
    if is_loopback_host(netloc):
        return None
    proxy = urllib.request.getproxies().get("https")
    if not proxy or urllib.request.proxy_bypass(netloc.split(":", 1)[0]):
        return None
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MwaaProtocolError(
            f"HTTPS_PROXY must be an http://host:port proxy, got {parts.scheme}:// (use a tunnel for SOCKS)"
        )
    return f"{parts.hostname}:{parts.port or 80}"
