"""The task metrics listener plugin: CloudWatch data for every finished task instance.

Enable it with ``[mwaa_extras] task_metrics_enabled = True`` (on MWAA: the configuration option
``mwaa_extras.task_metrics_enabled``); the namespace is ``[mwaa_extras] task_metrics_namespace``.
The listener is always registered and checks the option on each call, so turning it off needs
no restart of the plugin. Importing this module adds no boto3 or psutil to a process.
"""

from __future__ import annotations

import logging

from airflow_mwaa_extras.plugins import task_metrics_listener
from airflow_mwaa_extras.plugins._common import PluginBase, refuse_unsupported_airflow

__all__ = ["TaskMetricsListenerPlugin"]

log = logging.getLogger(__name__)


refuse_unsupported_airflow(log, "mwaa_extras_task_metrics")


class TaskMetricsListenerPlugin(PluginBase):
    """Registers :mod:`airflow_mwaa_extras.plugins.task_metrics_listener`."""

    name = "mwaa_extras_task_metrics"
    listeners = [task_metrics_listener]
