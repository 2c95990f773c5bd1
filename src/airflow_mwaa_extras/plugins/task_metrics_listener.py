"""Airflow listener: one set of CloudWatch data per finished task instance.

Registered by :class:`~airflow_mwaa_extras.plugins.task_metrics.TaskMetricsListenerPlugin` and
active only when ``[mwaa_extras] task_metrics_enabled`` is true. Each finished task instance
gives, with the dimensions ``Environment``, ``DagId`` and ``Outcome`` (``success``, ``failed``
or ``up_for_retry``):

- ``TaskInstanceFinished`` (Count, 1),
- ``TaskDuration`` (Seconds, start to end),
- ``TaskQueuedTime`` (Seconds, queued to start; Airflow 2 only, Airflow 3's task runner does
  not know when the task was queued) with ``Environment`` and ``DagId``.

The hooks only shape the data and hand them to a background thread; the thread sends them
(boto3 is imported there, not here: this module loads in every Airflow process). At the end of
the task process (``before_stopping``) the hook waits at most a few seconds for the send, after
the task's state is already recorded; the interpreter's exit does the same. Nothing here can
fail a task: every error is logged and swallowed, and a CloudWatch outage logs one warning.

The hook signatures differ by version (Airflow 2 passes ``session``, Airflow 3 does not; 2.10+
passes ``error`` to ``on_task_instance_failed``, 2.9 does not):
pluggy lets an implementation take a subset of the specification's arguments, so the
functions below take only the arguments both versions pass.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pluggy

from airflow_mwaa_extras.metrics.background import BackgroundPublisher
from airflow_mwaa_extras.metrics.datum import DEFAULT_NAMESPACE, MetricDatum, shape_datums
from airflow_mwaa_extras.metrics.dimensions import ENVIRONMENT_VARIABLE
from airflow_mwaa_extras.metrics.publish import PublishResult

log = logging.getLogger(__name__)

hookimpl = pluggy.HookimplMarker("airflow")

CONFIG_SECTION = "mwaa_extras"
# How long the end of a task process may wait for the last send (the task's state is saved).
FLUSH_ON_STOP_SECONDS = 5.0
# Attempts per request: an outage costs a task process at most a few seconds, never a failure.
SEND_ATTEMPTS = 2
UNKNOWN_ENVIRONMENT = "unknown"

_publisher: BackgroundPublisher | None = None
_publisher_lock = threading.Lock()


def enabled() -> bool:
    """``[mwaa_extras] task_metrics_enabled`` (read on every call: cheap, and follows the config)."""
    from airflow.configuration import conf

    return conf.getboolean(CONFIG_SECTION, "task_metrics_enabled", fallback=False)


def namespace() -> str:
    from airflow.configuration import conf

    return conf.get(CONFIG_SECTION, "task_metrics_namespace", fallback=DEFAULT_NAMESPACE) or DEFAULT_NAMESPACE


def _send(entries: Sequence[dict[str, Any]]) -> PublishResult:
    import boto3

    from airflow_mwaa_extras.metrics.publish import cloudwatch_client_config, put_entries

    # A client per send: sends are rare (once per finished task) and this follows the
    # process's current credentials and endpoint.
    client = boto3.session.Session().client(
        "cloudwatch",
        config=cloudwatch_client_config(max_attempts=SEND_ATTEMPTS, connect_timeout=2, read_timeout=5),
    )
    return put_entries(client, namespace(), list(entries))


def get_publisher() -> BackgroundPublisher:
    """The process's publisher, created on first use."""
    global _publisher
    with _publisher_lock:
        if _publisher is None:
            _publisher = BackgroundPublisher(_send)
            atexit.register(flush, FLUSH_ON_STOP_SECONDS)
        return _publisher


def flush(timeout: float = FLUSH_ON_STOP_SECONDS) -> bool:
    """Wait up to ``timeout`` seconds for queued task metrics to be sent; False on timeout."""
    publisher = _publisher
    return True if publisher is None else publisher.flush(timeout)


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def task_instance_datums(task_instance: Any, outcome: str, now: datetime | None = None) -> list[MetricDatum]:
    """The data for one finished task instance (Airflow 2 ``TaskInstance`` or 3 ``RuntimeTaskInstance``)."""
    now = now or datetime.now(UTC)
    start = _aware(getattr(task_instance, "start_date", None))
    end = _aware(getattr(task_instance, "end_date", None)) or now
    queued = _aware(getattr(task_instance, "queued_dttm", None))
    base = {
        "Environment": os.environ.get(ENVIRONMENT_VARIABLE) or UNKNOWN_ENVIRONMENT,
        "DagId": str(task_instance.dag_id),
    }
    dims = {**base, "Outcome": outcome}
    datums = [MetricDatum("TaskInstanceFinished", 1, "Count", dims, end)]
    if start is not None and end >= start:
        datums.append(MetricDatum("TaskDuration", (end - start).total_seconds(), "Seconds", dims, end))
    if queued is not None and start is not None and start >= queued:
        datums.append(MetricDatum("TaskQueuedTime", (start - queued).total_seconds(), "Seconds", base, end))
    return datums


def _failed_outcome(task_instance: Any) -> str:
    state = str(getattr(getattr(task_instance, "state", None), "value", getattr(task_instance, "state", "")))
    return "up_for_retry" if state == "up_for_retry" else "failed"


def record(task_instance: Any, outcome: str) -> None:
    """Queue the data of a finished task instance; never raises."""
    try:
        if not enabled():
            return
        entries = shape_datums(task_instance_datums(task_instance, outcome))
        get_publisher().submit(entries)
    except Exception:  # a metrics problem must never become the task's problem
        log.warning(
            "Could not queue task metrics for %s", getattr(task_instance, "task_id", "?"), exc_info=True
        )


@hookimpl
def on_task_instance_success(previous_state: Any, task_instance: Any) -> None:
    record(task_instance, "success")


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any) -> None:
    # No `error`: Airflow 2.9's specification lacks it, and pluggy refuses an implementation that
    # names an argument the specification does not have (every task would then fail on 2.9).
    record(task_instance, _failed_outcome(task_instance))


@hookimpl
def before_stopping(component: Any) -> None:
    try:
        if not flush(FLUSH_ON_STOP_SECONDS):
            log.warning(
                "Task metrics were still being sent after %.0f s; not waiting longer", FLUSH_ON_STOP_SECONDS
            )
    except Exception:
        log.debug("flushing task metrics failed", exc_info=True)
