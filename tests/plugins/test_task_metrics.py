"""The task metrics listener plugin, for real task runs on the installed Airflow (2.10 or 3.x)."""

from __future__ import annotations

import logging
import re
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from airflow_mwaa_extras.plugins import task_metrics_listener
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.faulty_http import FaultyHttpProxy
from airflow_mwaa_extras.testing.local_aws import CLOSED_ENDPOINT, LocalAws
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_1_PLUS
from tests.hooks.test_cloudwatch_metrics import get_values, stored_count
from tests.operators.test_worker_metrics import DAG_ID, run_example_dag

ENABLED = "AIRFLOW__MWAA_EXTRAS__TASK_METRICS_ENABLED"
NAMESPACE = "AIRFLOW__MWAA_EXTRAS__TASK_METRICS_NAMESPACE"


@pytest.fixture(autouse=True)
def _empty_publisher() -> Iterator[None]:
    """The publisher lives as long as the process: what one test left queued must not leak."""
    yield
    task_metrics_listener.flush(5)
    task_metrics_listener.get_publisher().discard()


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


@pytest.mark.slow
def test_slow_cloudwatch_never_doubles_a_real_runs_counts(mixed_home: AirflowHome, aws: LocalAws) -> None:
    """The reported case: CloudWatch answers after the read timeout, and used to store it twice."""
    with FaultyHttpProxy(aws.endpoint_url) as proxy:
        proxy.set_fault("late", delay=task_metrics_listener.SEND_READ_TIMEOUT + 1)
        env = {**aws.env, **_listener_env(proxy.url)}
        proc = mixed_home.airflow(
            "dags", "test", "mwaa_extras_tm_mixed", check=False, extra_env=env, timeout=240
        )
        assert _run_state(proc.stdout + proc.stderr, "mwaa_extras_tm_mixed") == "failed"
        assert proxy.received == proxy.forwarded  # nothing sent twice
    base = {"Environment": "subprocess", "DagId": "mwaa_extras_tm_mixed"}
    for outcome in ("success", "failed"):
        assert stored_count(aws, "TaskInstanceFinished", {**base, "Outcome": outcome}) == 1.0
    # (The read timeout may come after the run ended: whether it warned is not asked here.)
    assert (proc.stdout + proc.stderr).count("not being published") <= 1


@pytest.mark.slow
@pytest.mark.skipif(AIRFLOW_V_3_0_PLUS, reason="Airflow 2's forked task runner (LocalTaskJob)")
def test_a_forked_airflow_2_task_process_sends_before_its_os_exit(
    mixed_home: AirflowHome, aws: LocalAws
) -> None:
    """``airflow tasks run --local`` forks the task process, which ends with ``os._exit``."""
    env = {**aws.env, **_listener_env(aws.endpoint_url)}
    mixed_home.airflow("dags", "reserialize", timeout=240)
    mixed_home.airflow("dags", "trigger", "mwaa_extras_tm_ok", "-r", "manual__fork", timeout=240)
    proc = mixed_home.airflow(
        "tasks", "run", "--local", "mwaa_extras_tm_ok", "a", "manual__fork", extra_env=env, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    dims = {"Environment": "subprocess", "DagId": "mwaa_extras_tm_ok", "Outcome": "success"}
    # Sent within the task's 1 s; on a starved machine (two suites on 2 shared cores) the
    # process can end first: then it is lost, never doubled.
    assert stored_count(aws, "TaskInstanceFinished", dims) in (0.0, 1.0)


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
    # The task instance of the outage was never delivered: it went out with the next one.
    dims = {"Environment": "outage", "DagId": "d", "Outcome": "success"}
    assert sum(get_values(aws.client("cloudwatch"), "TaskInstanceFinished", dims, "Count")) == 2.0


def _finished_ti() -> SimpleNamespace:
    now = datetime.now(UTC)
    return SimpleNamespace(dag_id="d", task_id="t", start_date=now - timedelta(seconds=2), end_date=now)


# -- Faults between the listener and CloudWatch ---------------------------------------------------


class HookTimer:
    """Times the listener hook calls of Airflow's own plugin manager (pluggy's call monitoring)."""

    def __init__(self) -> None:
        if AIRFLOW_V_3_1_PLUS:  # the task runner's own manager (3.0's task runner uses core's)
            from airflow.sdk.listener import get_listener_manager
        else:
            from airflow.listeners.listener import get_listener_manager

        self.calls: list[tuple[str, float]] = []
        self._started: dict[str, float] = {}
        self._undo = get_listener_manager().pm.add_hookcall_monitoring(self._before, self._after)

    def _before(self, hook_name: str, hook_impls: object, kwargs: object) -> None:
        self._started[hook_name] = time.monotonic()

    def _after(self, outcome: object, hook_name: str, hook_impls: object, kwargs: object) -> None:
        if hook_name.startswith("on_task_instance_") or hook_name == "before_stopping":
            self.calls.append((hook_name, time.monotonic() - self._started.pop(hook_name)))

    def close(self) -> None:
        self._undo()


FAULT_CELLS = {
    # fault -> (delay given to the proxy, TaskInstanceFinished stored while the fault lasts)
    "pass": (0.0, 1.0),
    "late": (2.0, 1.0),  # answered after the task's 1 s, within the 3 s read timeout
    "late_past_timeout": (4.0, 1.0),  # stored, but the answer came too late: lost, never resent
    "hang": (0.0, 0.0),
    "reset_after_forward": (0.0, 1.0),
    "throttle": (0.0, 0.0),
    "refuse": (0.0, 0.0),
}


@pytest.mark.parametrize("fault", list(FAULT_CELLS))
def test_fault_matrix_real_task_never_doubled_and_delayed_at_most_1s(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """A real task run (``dag.test()``) with CloudWatch behind each fault, then CloudWatch back.

    Prints one row of the closing note's table (``-s`` shows it).
    """
    delay, stored_during = FAULT_CELLS[fault]
    monkeypatch.setenv("AIRFLOW_ENV_NAME", f"matrix-{fault}")
    monkeypatch.setenv(ENABLED, "True")
    monkeypatch.setenv(NAMESPACE, "Matrix")
    publisher = task_metrics_listener.get_publisher()
    before = (publisher.sent_entries, publisher.lost_entries)
    with FaultyHttpProxy(aws.endpoint_url) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)  # the listener's client; the operator uses moto
        proxy.set_fault(fault.replace("_past_timeout", ""), delay=delay)
        timer = HookTimer()
        try:
            assert run_example_dag() == "success"
        finally:
            timer.close()
        delays = [seconds for _, seconds in timer.calls]
        # Every send of the task has ended (the listener's own wait may have stopped first);
        # an undelivered entry's retry waits the publisher's retry interval (5 s) after that.
        assert task_metrics_listener.flush(30)
        stored = stored_count(aws, "TaskInstanceFinished", _matrix_dims(fault), "Matrix")
        assert stored == stored_during
        # CloudWatch is back: a second task; what never arrived goes along, nothing is resent.
        proxy.set_fault("pass")
        task_metrics_listener.on_task_instance_success(previous_state=None, task_instance=_finished_ti())
        assert task_metrics_listener.flush(10)
        # Undelivered data go with the next send, or after the retry interval if a retry was
        # already under way when the next task came.
        assert publisher.wait_idle(30)
    dims = _matrix_dims(fault)
    final = stored_count(aws, "TaskInstanceFinished", dims, "Matrix") + stored_count(
        aws, "TaskInstanceFinished", {**dims, "DagId": "d"}, "Matrix"
    )
    lost = publisher.lost_entries - before[1]
    # Two task instances finished: each stored at most once; any not stored was counted lost.
    assert final <= 2.0
    assert final + _finished_count_lost(lost) >= 2.0
    # The listener waits 1 s at most by its clock; the rest is this loaded machine's scheduling.
    assert max(delays) < 1.0 + 0.75, timer.calls
    print(
        f"\nMATRIX listener | {fault:<19} | stored {final:.0f}/2 | lost (reported) {lost} entries | "
        f"doubled {max(final - 2, 0):.0f} | task-end delay max {max(delays):.2f} s | "
        f"requests received {proxy.received}, forwarded {proxy.forwarded}"
    )


def _matrix_dims(fault: str) -> dict[str, str]:
    return {"Environment": f"matrix-{fault}", "DagId": DAG_ID, "Outcome": "success"}


def _finished_count_lost(lost_entries: int) -> float:
    # Airflow 3 sends TaskInstanceFinished and TaskDuration per task; Airflow 2's dag.test() only
    # the first (no start date): a lost request of the first task held one TaskInstanceFinished.
    return 1.0 if lost_entries else 0.0
