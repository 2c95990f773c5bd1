"""Timezone plugin: every Airflow process runs in the zone named by ``[mwaa_extras] timezone``.

It sets ``TZ`` and calls :func:`time.tzset`, so log timestamps (and naive local times) follow
the zone, and child processes (task runners) inherit it. Unset or empty: nothing changes. The
zone is validated against the IANA database first; an unknown name changes nothing and becomes
a plugin import error in the UI. It does not change when DAGs run: give DAGs a tz-aware
``start_date`` and schedule (:mod:`airflow_mwaa_extras.dag_timezones`).

Configure with ``AIRFLOW__MWAA_EXTRAS__TIMEZONE=America/Los_Angeles`` (an MWAA configuration
option ``mwaa_extras.timezone``) and ``core.lazy_load_plugins = False``.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

from airflow_mwaa_extras.plugins._common import (
    PluginBase,
    PluginConfigError,
    get_option,
    refuse_unsupported_airflow,
)

__all__ = ["TimezonePlugin", "apply_configured_timezone", "apply_timezone", "validate_timezone"]

log = logging.getLogger(__name__)


def validate_timezone(name: str) -> str:
    """Return ``name`` when it is a known IANA time zone, else raise :class:`PluginConfigError`.

    :param name: e.g. ``America/Los_Angeles``
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # stdlib; only paid when a zone is set

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PluginConfigError(
            f"[mwaa_extras] timezone = {name!r} is not a known IANA time zone "
            "(e.g. America/Los_Angeles); TZ left unchanged"
        ) from None
    return name


def apply_timezone(name: str) -> bool:
    """Set ``TZ`` to ``name`` and make this process use it; return ``True`` when it changed.

    :param name: a valid IANA time zone name
    """
    validate_timezone(name)
    changed = os.environ.get("TZ") != name
    os.environ["TZ"] = name
    time.tzset()
    # pendulum caches the local zone on first use; forget it so Airflow's log formatter
    # (which asks pendulum for "local") sees the new one.
    local_tz_module = sys.modules.get("pendulum.tz.local_timezone")
    if local_tz_module is not None and hasattr(local_tz_module, "_local_timezone"):
        setattr(local_tz_module, "_local_timezone", None)  # noqa: B010 - private, so no attribute access
    return changed


def apply_configured_timezone() -> str | None:
    """Apply ``[mwaa_extras] timezone``; return the zone, or ``None`` when the option is unset."""
    name = get_option("timezone")
    if not name:
        return None
    if apply_timezone(name):
        log.info("mwaa_extras timezone plugin: TZ=%s (%s)", name, time.strftime("%Z %z"))
    return name


refuse_unsupported_airflow(log, "mwaa_extras_timezone")


class TimezonePlugin(PluginBase):
    """Sets the process time zone from ``[mwaa_extras] timezone`` when Airflow loads plugins."""

    name = "mwaa_extras_timezone"

    @classmethod
    def on_load(cls, *args: Any, **kwargs: Any) -> None:
        apply_configured_timezone()
