"""How a finished wait is read: the one verdict of the operator, the sensor and the trigger.

:func:`check_remote` and :func:`wait_for_run` run against a real remote in
tests/sensors/test_remote_dag_run.py and tests/operators/test_remote_dag_run.py.
"""

from __future__ import annotations

import pytest

from airflow_mwaa_extras.mwaa.dag_run_polling import check_event
from airflow_mwaa_extras.mwaa.dag_run_types import RemoteDagRunError, RemoteDagRunFailedError

OK = {"status": "success", "state": "success", "run_id": "r", "dag_id": "d", "environment": "e"}


def test_a_success_event_is_returned() -> None:
    assert check_event(OK) == OK


def test_a_failed_run_names_its_state_and_failed_tasks() -> None:
    failed = {**OK, "status": "failed", "state": "failed", "failed_task_ids": ["after", "work"]}
    with pytest.raises(
        RemoteDagRunFailedError, match="d/r in e ended failed; failed tasks: after, work"
    ) as info:
        check_event(failed)
    assert info.value.failed_task_ids == ["after", "work"]


@pytest.mark.parametrize(
    ("event", "match"),
    [
        pytest.param({"status": "error", "message": "cannot reach the MWAA API"}, "cannot reach", id="error"),
        pytest.param(None, "no usable event", id="none"),
        pytest.param({"state": "success"}, "no usable event", id="no-status"),
    ],
)
def test_an_error_or_a_malformed_event_is_a_clear_failure(event: dict[str, str] | None, match: str) -> None:
    with pytest.raises(RemoteDagRunError, match=match):
        check_event(event)
