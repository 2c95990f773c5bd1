"""The default dimensions: few and bounded, because every new combination is a new billed metric."""

from __future__ import annotations

import os
import socket

from airflow_mwaa_extras.metrics.datum import MetricValidationError

__all__ = ["ENVIRONMENT_VARIABLE", "default_dimensions", "environment_name"]

# MWAA sets this in every scheduler, worker and webserver (the user guide read MWAA_ENV_NAME,
# which MWAA never sets).
ENVIRONMENT_VARIABLE = "AIRFLOW_ENV_NAME"


def environment_name(explicit: str | None = None) -> str:
    """``explicit``, else ``$AIRFLOW_ENV_NAME``; raise when neither is set."""
    name = explicit or os.environ.get(ENVIRONMENT_VARIABLE, "")
    if not name:
        raise MetricValidationError(
            f"no environment name: pass environment_name or set {ENVIRONMENT_VARIABLE} (MWAA sets it)"
        )
    return name


def default_dimensions(
    environment: str | None = None,
    category: str | None = None,
    include_host: bool = False,
) -> dict[str, str]:
    """``Environment`` (and ``Category``); ``Host`` only when asked, as workers come and go.

    :param environment: the environment name; ``$AIRFLOW_ENV_NAME`` when not given.
    :param category: a bounded label such as ``WorkerResources``.
    :param include_host: add the host name (never the IP) as ``Host``.
    """
    dims = {"Environment": environment_name(environment)}
    if category:
        dims["Category"] = category
    if include_host:
        dims["Host"] = socket.gethostname()
    return dims
