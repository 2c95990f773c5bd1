"""The trigger operator against a real remote environment (the MWAA stand-in's CLI endpoint).

The e2e tests run it inside DAGs with a scheduler on the remote side; these check what it
returns, and that a retry never makes a second run.
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.mwaa.dag_run_types import RemoteDagPausedError, RemoteDagRunError
from airflow_mwaa_extras.operators.remote_dag_run import XCOM_REMOTE_RUN_ID, MwaaTriggerRemoteDagRunOperator
from airflow_mwaa_extras.testing.mwaa_standin_target import count_runs
from airflow_mwaa_extras.triggers.remote_dag_run import MwaaRemoteDagRunTrigger
from airflow_mwaa_extras.version_compat import DAG, TaskDeferred
from tests.remote_runs import DAG_ID, ENV, RemoteRuns

# The one documented shape of the operator's return value (docs/cross-environment.md).
RESULT_KEYS = {"environment", "dag_id", "run_id", "state", "logical_date", "transport", "created", "polls"}


class _TaskInstance:
    """What the operator uses of Airflow's task instance: its identity and ``xcom_push``."""

    def __init__(self, try_number: int = 1) -> None:
        self.dag_id, self.task_id, self.run_id, self.map_index = "caller", "trigger", "manual__1", -1
        self.try_number = try_number
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def _operator(**kwargs: Any) -> MwaaTriggerRemoteDagRunOperator:
    with DAG("op_test", schedule=None, start_date=datetime.datetime(2024, 1, 1)):
        settings = {"environment_name": ENV, "remote_dag_id": DAG_ID, "transport": "cli", **kwargs}
        return MwaaTriggerRemoteDagRunOperator(task_id="trigger", **settings)


def _first_event(trigger: MwaaRemoteDagRunTrigger) -> dict[str, Any]:
    async def first() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(asyncio.wait_for(first(), timeout=300))


def test_a_retry_finds_the_run_its_first_try_triggered(remote_runs: RemoteRuns) -> None:
    before = count_runs(remote_runs.home, DAG_ID)
    first_try, second_try = _TaskInstance(try_number=1), _TaskInstance(try_number=2)
    first = _operator(allow_paused=True).execute({"ti": first_try})  # type: ignore[typeddict-item]
    second = _operator(allow_paused=True).execute({"ti": second_try})  # type: ignore[typeddict-item]
    assert count_runs(remote_runs.home, DAG_ID) == before + 1
    assert set(first) == set(second) == RESULT_KEYS
    assert (first["created"], second["created"]) == (True, False)
    assert (
        first["run_id"]
        == second["run_id"]
        == first_try.xcom[XCOM_REMOTE_RUN_ID]
        == second_try.xcom[XCOM_REMOTE_RUN_ID]
    )
    assert (first["state"], first["polls"], first["transport"]) == ("queued", 0, "cli")


def test_a_paused_remote_dag_is_refused_unless_allowed(remote_runs: RemoteRuns) -> None:
    before = count_runs(remote_runs.home, DAG_ID)
    with pytest.raises(RemoteDagPausedError, match="allow_paused=True"):
        _operator(run_id="mx_paused_refused").execute({"ti": _TaskInstance()})  # type: ignore[typeddict-item]
    assert count_runs(remote_runs.home, DAG_ID) == before


def test_waiting_returns_the_same_result_in_a_worker_and_deferred(remote_runs: RemoteRuns) -> None:
    context: Any = {"ti": _TaskInstance()}
    waited = _operator(run_id=remote_runs.succeeded_run_id, wait_for_completion=True).execute(context)
    deferring = _operator(run_id=remote_runs.succeeded_run_id, wait_for_completion=True, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        deferring.execute(context)
    trigger = deferred.value.trigger
    assert isinstance(trigger, MwaaRemoteDagRunTrigger)
    # Resumed as Airflow resumes it: the defer() kwargs plus the trigger's event.
    event = _first_event(trigger)
    resumed = deferring.resume_execution(
        deferred.value.method_name, {**(deferred.value.kwargs or {}), "event": event}, context
    )
    assert set(waited) == RESULT_KEYS
    assert resumed == waited
    assert (waited["state"], waited["created"], waited["polls"]) == ("success", False, 1)
    # `airflow dags test` resumes with the event only: the same keys, `created` unknown.
    tested = deferring.resume_execution(deferred.value.method_name, {"event": event}, context)
    assert tested == {**waited, "created": None}


def test_a_run_that_does_not_finish_within_max_wait_fails_the_task(remote_runs: RemoteRuns) -> None:
    op = _operator(
        run_id=remote_runs.queued_run_id, wait_for_completion=True, poll_interval=0.01, max_wait=0.01
    )
    with pytest.raises(RemoteDagRunError, match="did not finish within 0.01 s"):
        op.execute({"ti": _TaskInstance()})  # type: ignore[typeddict-item]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"remote_dag_id": ""}, "required", id="no-dag"),
        pytest.param({"transport": "http"}, "transport", id="transport"),
        pytest.param({"poll_interval": 0}, "poll_interval", id="poll"),
    ],
)
def test_bad_arguments_fail_in_execute_not_at_parse_time(kwargs: dict[str, Any], match: str) -> None:
    op = _operator(**kwargs)  # parsing never fails
    with pytest.raises(UsageError, match=match):
        op.execute({"ti": _TaskInstance()})  # type: ignore[typeddict-item]
