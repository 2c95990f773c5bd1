"""The trigger operator's checks that need no remote environment (the e2e tests run it for real)."""

from __future__ import annotations

import datetime

import pytest

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.mwaa.dag_runs import RemoteDagRunError, RemoteDagRunFailedError
from airflow_mwaa_extras.operators.remote_dag_run import MwaaTriggerRemoteDagRunOperator, check_event
from airflow_mwaa_extras.version_compat import DAG


def _operator(**kwargs: object) -> MwaaTriggerRemoteDagRunOperator:
    with DAG("op_test", schedule=None, start_date=datetime.datetime(2024, 1, 1)):
        return MwaaTriggerRemoteDagRunOperator(task_id="t", **kwargs)  # type: ignore[arg-type]


def test_template_fields_and_defaults() -> None:
    op = _operator(environment_name="env-b", remote_dag_id="target")
    assert set(op.template_fields) == {"environment_name", "remote_dag_id", "conf", "run_id", "logical_date"}
    assert op.deferrable is False  # [operators] default_deferrable is unset in the suite
    assert op.transport == "auto"
    assert op.wait_for_completion is False


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"environment_name": "", "remote_dag_id": "d"}, "required", id="no-environment"),
        pytest.param(
            {"environment_name": "e", "remote_dag_id": "d", "transport": "http"}, "transport", id="transport"
        ),
        pytest.param(
            {"environment_name": "e", "remote_dag_id": "d", "poll_interval": 0}, "poll_interval", id="poll"
        ),
    ],
)
def test_bad_arguments_fail_in_execute_not_at_parse_time(kwargs: dict[str, object], match: str) -> None:
    op = _operator(**kwargs)  # parsing never fails
    with pytest.raises(UsageError, match=match):
        op.execute({})  # type: ignore[arg-type]


def test_check_event() -> None:
    ok = {"status": "success", "state": "success", "run_id": "r", "dag_id": "d", "environment": "e"}
    assert check_event(ok)["state"] == "success"
    failed = {**ok, "status": "failed", "state": "failed", "failed_task_ids": ["after", "work"]}
    with pytest.raises(RemoteDagRunFailedError, match="ended failed; failed tasks: after, work") as info:
        check_event(failed)
    assert info.value.failed_task_ids == ["after", "work"]
    with pytest.raises(RemoteDagRunError, match="cannot reach"):
        check_event({"status": "error", "message": "cannot reach the MWAA API"})
    with pytest.raises(RemoteDagRunError, match="no usable event"):
        check_event(None)
