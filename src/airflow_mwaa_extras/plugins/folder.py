"""What a plugins-folder file exposes, so each plugin is registered exactly once.

Airflow registers plugins from two places: every ``.py`` file in the plugins folder, then the
``airflow.plugins`` entry points of installed distributions. Installed with pip (MWAA's
requirements.txt), this package registers its plugins through entry points; vendored in
plugins.zip (no pip install), it has no entry points and a file in the plugins folder must name
the classes. A file that imports them unconditionally while the package is also installed
registers each one twice: Airflow 2 and 3.0 skip the second silently, Airflow 3.1+ logs
"already registered" and records a plugin import error. The files to put in the plugins folder
are one per plugin (Airflow loads each file in its own try/except, so one bad setting drops only
its plugin), e.g.::

    # plugins/mwaa_extras_plugin_timezone.py
    from airflow_mwaa_extras.plugins.folder import plugins_for_folder

    globals().update(plugins_for_folder("timezone"))

plus ``airflow_mwaa_extras`` in ``plugins/.airflowignore`` when the package itself is copied
into the folder (Airflow would otherwise run every module of the package as a plugin file).
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import Any

from airflow_mwaa_extras.plugin_classes import PLUGINS

__all__ = ["DISTRIBUTION", "ENTRY_POINT_GROUP", "installed_entry_points", "plugins_for_folder"]

DISTRIBUTION = "airflow-mwaa-extras"
ENTRY_POINT_GROUP = "airflow.plugins"


def installed_entry_points() -> set[str]:
    """The ``module:Class`` values this package's installed distribution registers (empty when
    it is not installed, e.g. vendored in plugins.zip)."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return set()
    return {ep.value for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP}


def plugins_for_folder(*names: str) -> dict[str, Any]:
    """The plugin classes a plugins-folder file should hold: ``{class name: class}`` for each
    plugin (all, or the ``names`` given) that no installed entry point registers already.

    :param names: short names (``timezone``, ``virtualenv``, ``env_vars``, ``task_metrics``)
    """
    unknown = sorted(set(names) - set(PLUGINS))
    if unknown:
        raise ValueError(f"unknown plugin name(s) {', '.join(unknown)}; known: {', '.join(PLUGINS)}")
    registered = installed_entry_points()
    result: dict[str, Any] = {}
    for name in names or tuple(PLUGINS):
        target = PLUGINS[name]
        if target in registered:
            continue
        module_name, class_name = target.split(":")
        result[class_name] = getattr(importlib.import_module(module_name), class_name)
    return result
