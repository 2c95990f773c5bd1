"""Waiting for a remote DAG run (or one of its tasks): one poll, its verdict, and a blocking wait.

The operator, the sensor and the deferrable trigger all decide with :func:`check_remote`, which
returns the event the trigger sends, and read that event with :func:`check_event`: a wait ends
the same way in a worker slot, in reschedule mode and in the triggerer. No Airflow import.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from airflow_mwaa_extras.mwaa.dag_run_types import (
    FAILED_TASK_STATES,
    RemoteDagRunError,
    RemoteDagRunFailedError,
)
from airflow_mwaa_extras.mwaa.dag_runs import RemoteDagRuns

__all__ = ["TASK_DONE_STATES", "check_event", "check_remote", "wait_for_run"]

TASK_DONE_STATES = frozenset({"success", "skipped"})


def check_remote(runs: RemoteDagRuns, dag_id: str, run_id: str, task_id: str | None) -> dict[str, Any] | None:
    """One poll: an event payload when the wait is over, None to keep waiting.

    ``status`` is ``success`` or ``failed``; ``state`` the run's (or the task's) state;
    ``failed_task_ids`` the run's failed tasks when it failed; ``logical_date`` and
    ``transport`` (``rest_api`` or ``cli``) as the poll read them.
    """
    run = runs.get_run(dag_id, run_id)
    base = {
        "environment": runs.environment_name,
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "logical_date": run.logical_date,
        "transport": run.transport,
    }
    if task_id is not None:
        state = runs.task_state(dag_id, run_id, task_id)
        if state in TASK_DONE_STATES:
            return {**base, "status": "success", "state": state, "failed_task_ids": []}
        if state in FAILED_TASK_STATES or (run.finished and state not in TASK_DONE_STATES):
            return {**base, "status": "failed", "state": state or "missing", "failed_task_ids": [task_id]}
        return None
    if not run.finished:
        return None
    if run.state == "success":
        return {**base, "status": "success", "state": run.state, "failed_task_ids": []}
    return {
        **base,
        "status": "failed",
        "state": run.state,
        "failed_task_ids": runs.failed_task_ids(dag_id, run_id),
    }


def check_event(event: Mapping[str, Any] | None) -> dict[str, Any]:
    """The event of a finished wait, or the failure it reports raised as a clear task failure.

    :raises RemoteDagRunFailedError: the run (or task) did not succeed
    :raises RemoteDagRunError: the event reports an error, or is not an event at all
    """
    if not event or "status" not in event:
        raise RemoteDagRunError(f"the remote DAG run trigger sent no usable event: {event!r}")
    if event["status"] == "error":
        raise RemoteDagRunError(str(event.get("message") or "the remote DAG run trigger failed"))
    if event["status"] != "success":
        raise RemoteDagRunFailedError(
            str(event.get("environment")),
            str(event.get("dag_id")),
            str(event.get("run_id")),
            str(event.get("state")),
            list(event.get("failed_task_ids") or []),
        )
    return dict(event)


def wait_for_run(
    runs: RemoteDagRuns,
    dag_id: str,
    run_id: str,
    *,
    poll_interval: float,
    max_wait: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll until the run finishes; its checked event, with ``polls`` (how many polls it took).

    :param max_wait: give up after this many seconds (None: as long as the run takes)
    :raises RemoteDagRunFailedError: the run did not succeed
    :raises RemoteDagRunError: it did not finish within ``max_wait``
    """
    deadline = time.monotonic() + max_wait if max_wait else None
    polls = 0
    while True:
        polls += 1
        event = check_remote(runs, dag_id, run_id, None)
        if event is not None:
            return check_event({**event, "polls": polls})
        if deadline is not None and time.monotonic() >= deadline:
            raise RemoteDagRunError(
                f"remote run {run_id} of {dag_id} in {runs.environment_name} did not finish within {max_wait} s"
            )
        sleep(float(poll_interval))
