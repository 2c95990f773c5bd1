"""Airflow listener: one set of CloudWatch data per finished task instance.

Registered by :class:`~airflow_mwaa_extras.plugins.task_metrics.TaskMetricsListenerPlugin` and
active only when ``[mwaa_extras] task_metrics_enabled`` is true. Each finished task instance
gives, with the dimensions ``Environment``, ``DagId`` and ``Outcome`` (``success``, ``failed``
or ``up_for_retry``):

- ``TaskInstanceFinished`` (Count, 1),
- ``TaskDuration`` (Seconds, start to end),
- ``TaskQueuedTime`` (Seconds, queued to start; Airflow 2 only, Airflow 3's task runner does
  not know when the task was queued) with ``Environment`` and ``DagId``.

The hooks shape the data and hand them to a background thread, which sends them (boto3 is
imported there, not here: this module loads in every Airflow process). The hook then waits for
that send, after the task's state is recorded, and what is left of the wait is spent at the
process's end (``before_stopping``, the interpreter's exit): at most ``FLUSH_ON_STOP_SECONDS``
per finished task in all. The wait in the hook is there because Airflow 2's forked task
process ends with ``os._exit``, which runs no exit handler.
A request is never sent twice (see :mod:`airflow_mwaa_extras.metrics.publish`); data that
never reached CloudWatch go out with the next send. Nothing here can fail a task: every error
is logged and swallowed, and a CloudWatch outage logs one warning per process.

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
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pluggy

from airflow_mwaa_extras.metrics.background import BackgroundPublisher
from airflow_mwaa_extras.metrics.datum import DEFAULT_NAMESPACE, MetricDatum, shape_datums
from airflow_mwaa_extras.metrics.dimensions import ENVIRONMENT_VARIABLE
from airflow_mwaa_extras.metrics.publish import PublishResult

__all__ = [
    "CONFIG_SECTION",
    "FLUSH_ON_STOP_SECONDS",
    "SENDS_AT_ONCE",
    "SEND_ATTEMPTS",
    "SEND_CONNECT_TIMEOUT",
    "SEND_READ_TIMEOUT",
    "SEND_TIME_BUDGET",
    "UNKNOWN_ENVIRONMENT",
    "before_stopping",
    "enabled",
    "flush",
    "flush_on_stop",
    "get_publisher",
    "hookimpl",
    "namespace",
    "on_task_instance_failed",
    "on_task_instance_running",
    "on_task_instance_success",
    "record",
    "task_instance_datums",
]

log = logging.getLogger(__name__)

hookimpl = pluggy.HookimplMarker("airflow")

CONFIG_SECTION = "mwaa_extras"
# How long a finished task may wait for its data to be sent, in all (the task's state is
# already saved): a hung CloudWatch delays a task's end by at most this.
FLUSH_ON_STOP_SECONDS = 1.0
# One send (in the background thread): attempts for failures that stored nothing, timeouts,
# and the time budget of the whole send.
SEND_ATTEMPTS = 2
SEND_CONNECT_TIMEOUT = 1.0
SEND_READ_TIMEOUT = 3.0
SEND_TIME_BUDGET = 5.0
# Sends at once: a task's data need not wait behind an earlier task's send to a slow CloudWatch.
SENDS_AT_ONCE = 3
UNKNOWN_ENVIRONMENT = "unknown"

_publisher: BackgroundPublisher | None = None
_publisher_lock = threading.Lock()
# pid -> when the wait for the last finished task's data ends (shared by the hook,
# before_stopping and atexit, so that together they wait at most FLUSH_ON_STOP_SECONDS).
_wait_until: dict[int, float] = {}


def enabled() -> bool:
    """``[mwaa_extras] task_metrics_enabled`` (read on every call: cheap, and follows the config)."""
    from airflow.configuration import conf

    return conf.getboolean(CONFIG_SECTION, "task_metrics_enabled", fallback=False)


def namespace() -> str:
    from airflow.configuration import conf

    return conf.get(CONFIG_SECTION, "task_metrics_namespace", fallback=DEFAULT_NAMESPACE) or DEFAULT_NAMESPACE


# Environment variables that choose where and as whom the client sends.
_CLIENT_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_CLOUDWATCH",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
)
_clients: dict[tuple[object, ...], Any] = {}
_clients_lock = threading.Lock()


def _client() -> Any:
    """The process's CloudWatch client, made again when the endpoint or credentials change."""
    key = (os.getpid(), *(os.environ.get(name) for name in _CLIENT_ENV))
    with _clients_lock:
        if key not in _clients:
            import boto3

            from airflow_mwaa_extras.metrics.publish import cloudwatch_client_config

            config = cloudwatch_client_config(
                connect_timeout=SEND_CONNECT_TIMEOUT, read_timeout=SEND_READ_TIMEOUT
            )
            _clients.clear()
            _clients[key] = boto3.session.Session().client("cloudwatch", config=config)
        return _clients[key]


def _send(entries: Sequence[dict[str, Any]]) -> PublishResult:
    from airflow_mwaa_extras.metrics.publish import put_entries

    return put_entries(
        _client(), namespace(), list(entries), max_attempts=SEND_ATTEMPTS, time_budget=SEND_TIME_BUDGET
    )


def _warm_up() -> None:
    try:
        _client()
    except Exception:  # the send reports it, once
        log.debug("could not create the CloudWatch client", exc_info=True)


def get_publisher() -> BackgroundPublisher:
    """The process's publisher, created on first use."""
    global _publisher
    with _publisher_lock:
        if _publisher is None:
            _publisher = BackgroundPublisher(_send, max_in_flight=SENDS_AT_ONCE)
            atexit.register(flush_on_stop)
        return _publisher


def flush(timeout: float = FLUSH_ON_STOP_SECONDS) -> bool:
    """Wait up to ``timeout`` seconds for queued task metrics to be tried; False on timeout."""
    publisher = _publisher
    return True if publisher is None else publisher.flush(timeout)


def flush_on_stop() -> bool:
    """Wait for what is left of the last finished task's ``FLUSH_ON_STOP_SECONDS``."""
    remaining = _wait_until.get(os.getpid(), 0.0) - time.monotonic()
    return flush(max(remaining, 0.0))


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
    """Queue the data of a finished task instance and wait up to 1 s for the send; never raises."""
    try:
        if not enabled():
            return
        _wait_until[os.getpid()] = time.monotonic() + FLUSH_ON_STOP_SECONDS
        get_publisher().submit(shape_datums(task_instance_datums(task_instance, outcome)))
        flush_on_stop()
    except Exception:  # a metrics problem must never become the task's problem
        log.warning(
            "Could not queue task metrics for %s", getattr(task_instance, "task_id", "?"), exc_info=True
        )


@hookimpl
def on_task_instance_running(previous_state: Any, task_instance: Any) -> None:
    # Importing boto3 and making a client take a second of CPU: do it while the task runs, so
    # that the wait at its end is spent on the send only.
    try:
        if enabled():
            threading.Thread(target=_warm_up, name="mwaa-extras-metrics-warm-up", daemon=True).start()
    except Exception:
        log.debug("could not warm up the CloudWatch client", exc_info=True)


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
        if not flush_on_stop():
            log.info(
                "Task metrics were still being sent after %.1f s; not waiting longer", FLUSH_ON_STOP_SECONDS
            )
    except Exception:
        log.debug("flushing task metrics failed", exc_info=True)
