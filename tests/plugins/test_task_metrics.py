"""The task metrics listener plugin, for real task runs on the installed Airflow (2.10 or 3.x)."""

from __future__ import annotations

import logging
import re
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from airflow_mwaa_extras.plugins import task_metrics_listener
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.local_aws import CLOSED_ENDPOINT, LocalAws
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS
from tests.hooks.test_cloudwatch_metrics import get_values
from tests.operators.test_worker_metrics import DAG_ID, run_example_dag

ENABLED = "AIRFLOW__MWAA_EXTRAS__TASK_METRICS_ENABLED"
NAMESPACE = "AIRFLOW__MWAA_EXTRAS__TASK_METRICS_NAMESPACE"


def test_plugin_registers_the_listener_module() -> None:
    # Imported here, after Airflow: a plugin module that is itself the first to import Airflow
    # (which loads every plugin at import, lazy_load_plugins = False) would be loaded half-made.
    from airflow_mwaa_extras.plugins.task_metrics import TaskMetricsListenerPlugin

    assert TaskMetricsListenerPlugin.name == "mwaa_extras_task_metrics"
    assert TaskMetricsListenerPlugin.listeners == [task_metrics_listener]


def test_listener_publishes_for_a_real_task_run(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_ENV_NAME", "listener-test")
    monkeypatch.setenv(ENABLED, "True")
    monkeypatch.setenv(NAMESPACE, "Listener/Test")
    started = time.monotonic()
    assert run_example_dag() == "success"
    assert task_metrics_listener.flush(10)
    elapsed = time.monotonic() - started

    cw = aws.client("cloudwatch")
    dims = {"Environment": "listener-test", "DagId": DAG_ID, "Outcome": "success"}
    assert get_values(cw, "TaskInstanceFinished", dims, "Count", namespace="Listener/Test") == [1.0]
    durations = get_values(cw, "TaskDuration", dims, "Seconds", namespace="Listener/Test", stat="Maximum")
    if AIRFLOW_V_3_0_PLUS:
        (duration,) = durations
        assert 0.5 <= duration < elapsed  # the operator measures CPU for 0.5 s
    else:
        # Airflow 2's dag.test() never sets the task instance's start_date: no duration known.
        assert durations == []
    names = {m["MetricName"] for m in cw.list_metrics(Namespace="Listener/Test")["Metrics"]}
    assert "TaskQueuedTime" not in names  # neither runner knows when this task was queued


def test_disabled_listener_sends_nothing(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENABLED, "False")
    now = datetime.now(UTC)
    ti = SimpleNamespace(dag_id="d", task_id="t", start_date=now, end_date=now, state="success")
    task_metrics_listener.on_task_instance_success(previous_state=None, task_instance=ti)
    assert task_metrics_listener.flush(10)
    assert aws.client("cloudwatch").list_metrics()["Metrics"] == []


def test_datums_of_an_airflow_2_task_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_ENV_NAME", "prod")
    end = datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)
    ti = SimpleNamespace(
        dag_id="etl",
        task_id="load",
        queued_dttm=end - timedelta(seconds=45),
        start_date=end - timedelta(seconds=30),
        end_date=end,
        state="up_for_retry",
    )
    datums = task_metrics_listener.task_instance_datums(ti, task_metrics_listener._failed_outcome(ti))
    by_name = {d.name: d for d in datums}
    assert by_name["TaskInstanceFinished"].value == 1
    assert by_name["TaskDuration"].value == 30.0
    assert by_name["TaskQueuedTime"].value == 15.0
    assert dict(by_name["TaskDuration"].dimensions) == {
        "Environment": "prod",
        "DagId": "etl",
        "Outcome": "up_for_retry",
    }
    assert dict(by_name["TaskQueuedTime"].dimensions) == {"Environment": "prod", "DagId": "etl"}
    assert {d.timestamp for d in datums} == {end}


def test_a_broken_task_instance_never_raises(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(ENABLED, "True")
    task_metrics_listener.on_task_instance_failed(previous_state=None, task_instance=object())
    assert "Could not queue task metrics" in caplog.text


MIXED_DAG = textwrap.dedent(
    """
    from __future__ import annotations

    import time
    from datetime import datetime

    from airflow_mwaa_extras.version_compat import DAG, PythonOperator


    def ok():
        time.sleep(0.3)


    def boom():
        raise ValueError("planned failure")


    with DAG("mwaa_extras_tm_mixed", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
        PythonOperator(task_id="ok", python_callable=ok) >> PythonOperator(
            task_id="boom", python_callable=boom, retries=0, trigger_rule="all_done"
        )

    with DAG("mwaa_extras_tm_ok", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
        PythonOperator(task_id="a", python_callable=ok) >> PythonOperator(task_id="b", python_callable=ok)
    """
)


def _run_state(output: str, dag_id: str) -> str:
    # `airflow dags test` logs the run's end on both versions; Airflow 2 never writes the DAG to
    # the `dag` table there, so `dags list-runs` cannot be asked.
    found = re.findall(rf"DagRun Finished: dag_id={dag_id},.*?state=(\w+)", output)
    assert found, output[-3000:]
    return str(found[-1])


@pytest.fixture
def mixed_home(tmp_path: Path, make_airflow_home: Callable[..., AirflowHome]) -> AirflowHome:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "tm_dags.py").write_text(MIXED_DAG)
    return make_airflow_home("tm", dags_folder=dags)


def _listener_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AIRFLOW_ENV_NAME": "subprocess",
        ENABLED: "True",
        "AWS_DISABLE_REQUEST_COMPRESSION": "true",  # moto 5.0 cannot read gzip bodies
    }


@pytest.mark.slow
def test_failed_task_is_published_with_its_outcome(mixed_home: AirflowHome, aws: LocalAws) -> None:
    env = {**aws.env, **_listener_env(aws.endpoint_url)}
    proc = mixed_home.airflow("dags", "test", "mwaa_extras_tm_mixed", check=False, extra_env=env, timeout=240)
    assert _run_state(proc.stdout + proc.stderr, "mwaa_extras_tm_mixed") == "failed"
    cw = aws.client("cloudwatch")
    base = {"Environment": "subprocess", "DagId": "mwaa_extras_tm_mixed"}
    assert get_values(cw, "TaskInstanceFinished", {**base, "Outcome": "success"}, "Count", "MWAA-Custom") == [
        1.0
    ]
    assert get_values(cw, "TaskInstanceFinished", {**base, "Outcome": "failed"}, "Count", "MWAA-Custom") == [
        1.0
    ]
    durations = get_values(cw, "TaskDuration", {**base, "Outcome": "success"}, "Seconds", stat="Maximum")
    if AIRFLOW_V_3_0_PLUS:
        assert len(durations) == 1
        assert durations[0] >= 0.3
    else:
        assert durations == []  # Airflow 2's dag test leaves start_date unset


def test_cloudwatch_outage_never_fails_a_task_and_warns_once(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The operator reaches moto through the aws_default connection; the listener's own client
    # follows AWS_ENDPOINT_URL, here a refused port: CloudWatch is "down" for the listener only.
    monkeypatch.setenv("AIRFLOW_ENV_NAME", "outage")
    monkeypatch.setenv(ENABLED, "True")
    monkeypatch.setenv("AWS_ENDPOINT_URL", CLOSED_ENDPOINT)
    publisher = task_metrics_listener.get_publisher()
    failed_before = publisher.failed_sends
    with caplog.at_level(logging.INFO, logger="airflow_mwaa_extras"):
        started = time.monotonic()
        assert run_example_dag() == "success"
        assert task_metrics_listener.flush(15)
        # The same outage again: still one warning.
        task_metrics_listener.on_task_instance_success(previous_state=None, task_instance=_finished_ti())
        assert task_metrics_listener.flush(15)
    assert time.monotonic() - started < 120
    assert publisher.failed_sends == failed_before + 2
    warnings = [r.getMessage() for r in caplog.records if "not being published" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "Could not connect" in warnings[0]
    # CloudWatch back: the listener says so once and publishes again.
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    with caplog.at_level(logging.INFO, logger="airflow_mwaa_extras"):
        task_metrics_listener.on_task_instance_success(previous_state=None, task_instance=_finished_ti())
        assert task_metrics_listener.flush(15)
    assert any("published again" in r.getMessage() for r in caplog.records)
    dims = {"Environment": "outage", "DagId": "d", "Outcome": "success"}
    assert get_values(aws.client("cloudwatch"), "TaskInstanceFinished", dims, "Count") == [1.0]


def _finished_ti() -> SimpleNamespace:
    now = datetime.now(UTC)
    return SimpleNamespace(dag_id="d", task_id="t", start_date=now - timedelta(seconds=2), end_date=now)
