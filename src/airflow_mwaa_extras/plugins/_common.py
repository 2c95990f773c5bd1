"""What the plugins share: reading ``[mwaa_extras]`` options, one error type, say-once logging.

Stdlib only at module level: plugins load in every scheduler, worker and webserver process.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from airflow_mwaa_extras import version_compat
from airflow_mwaa_extras.exceptions import MwaaExtrasError

if TYPE_CHECKING:
    from airflow.plugins_manager import AirflowPlugin

    PluginBase = AirflowPlugin
elif version_compat.AIRFLOW_SUPPORTED:
    PluginBase = version_compat.AirflowPlugin
else:
    # Airflow registers only subclasses of AirflowPlugin (entry points and plugins-folder files
    # alike): below the oldest supported Airflow our plugins are plain classes, so Airflow skips
    # them instead of recording an import error with a traceback.
    PluginBase = object

SECTION = "mwaa_extras"

_said: set[str] = set()


class PluginConfigError(MwaaExtrasError):
    """A ``[mwaa_extras]`` option holds a value a plugin cannot use.

    Raised from ``on_load``: Airflow then records it as a plugin import error (shown by the UI)
    and carries on without the plugin, so a typo never stops a scheduler.
    """


def get_option(option: str) -> str:
    """``[mwaa_extras] <option>`` from Airflow's configuration (``AIRFLOW__MWAA_EXTRAS__<OPTION>``,
    airflow.cfg...), stripped; ``""`` when unset.

    :param option: the option name, e.g. ``timezone``
    """
    from airflow.configuration import conf  # already imported in every Airflow process

    value = conf.get(SECTION, option, fallback="")
    return (value or "").strip()


def get_airflow_option(section: str, option: str) -> str:
    """Any Airflow option as a string (``""`` when unset).

    :param section: the section, e.g. ``core``
    :param option: the option, e.g. ``plugins_folder``
    """
    from airflow.configuration import conf

    return (conf.get(section, option, fallback="") or "").strip()


def refuse_unsupported_airflow(logger: logging.Logger, plugin: str) -> bool:
    """Log one warning when the installed Airflow is older than the oldest supported one; return
    whether the plugin is registered (``PluginBase`` is ``AirflowPlugin``).

    :param logger: the plugin module's logger
    :param plugin: the plugin's name, e.g. ``mwaa_extras_timezone``
    """
    if version_compat.AIRFLOW_SUPPORTED or version_compat.AIRFLOW_VERSION is None:
        return version_compat.AIRFLOW_SUPPORTED
    reason = version_compat.unsupported_reason(version_compat.AIRFLOW_VERSION)
    say_once(
        logger, logging.WARNING, f"{plugin}-unsupported", "%s: %s; plugin not registered", plugin, reason
    )
    return False


def say_once(logger: logging.Logger, level: int, key: str, message: str, *args: object) -> None:
    """Log ``message`` the first time ``key`` is seen in this process tree only.

    A marker in ``os.environ`` is inherited by the processes Airflow starts (task runners), so
    they stay quiet about what their parent already said.

    :param logger: where to log
    :param level: the logging level
    :param key: what makes the message unique
    :param message: %-style message
    :param args: its arguments
    """
    marker = f"_MWAA_EXTRAS_SAID_{key.upper().replace('-', '_')}"
    if key in _said or os.environ.get(marker):
        return
    _said.add(key)
    os.environ[marker] = "1"
    logger.log(level, message, *args, stacklevel=2)
