"""WorkerMetricsOperator for real: the example DAG through ``dag.test()`` against moto's server."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from airflow_mwaa_extras.metrics.datum import MetricValidationError
from airflow_mwaa_extras.metrics.worker_sample import sample_worker
from airflow_mwaa_extras.operators.worker_metrics import WorkerMetricsOperator
from airflow_mwaa_extras.testing.local_aws import LocalAws
from tests.hooks.test_cloudwatch_metrics import get_values

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "example_mwaa_extras_cloudwatch_metrics.py"
DAG_ID = "example_mwaa_extras_cloudwatch_metrics"

UNITS = {
    "MemoryUsed": "Bytes",
    "MemoryLimit": "Bytes",
    "MemoryUtilization": "Percent",
    "CPUUtilization": "Percent",
    "CPULimit": "None",
    "LoadAverage1Min": "None",
    "LoadAverage5Min": "None",
    "LoadAverage15Min": "None",
    "ProcessCount": "Count",
}


def load_example_dag() -> Any:
    spec = importlib.util.spec_from_file_location("example_mwaa_extras_cloudwatch_metrics", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def run_example_dag() -> str:
    dag_run = load_example_dag().test()
    state = getattr(dag_run.state, "value", dag_run.state)
    return str(state)


def test_example_dag_publishes_the_worker_metric_set(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_ENV_NAME", "worker-test")
    assert run_example_dag() == "success"

    cw = aws.client("cloudwatch")
    base = {"Environment": "worker-test", "Category": "WorkerResources"}
    found = {name: get_values(cw, name, base, unit, stat="Maximum") for name, unit in UNITS.items()}
    assert all(len(values) == 1 for values in found.values()), found
    assert found["MemoryLimit"] == [float(sample_worker(0.01, {}).memory_limit_bytes)]
    assert 0 < found["MemoryUsed"][0] <= found["MemoryLimit"][0]
    assert 0 <= found["CPUUtilization"][0] <= 100
    assert found["ProcessCount"][0] >= 1
    for volume in ("AirflowHome", "Temp"):
        dims = {**base, "Volume": volume}
        assert len(get_values(cw, "DiskUtilization", dims, "Percent", stat="Maximum")) == 1
        assert len(get_values(cw, "DiskFree", dims, "Bytes", stat="Maximum")) == 1
    # Exactly the 13 metrics (and no Host dimension: workers come and go).
    metrics = cw.list_metrics(
        Namespace="MWAA-Custom", Dimensions=[{"Name": "Category", "Value": "WorkerResources"}]
    )
    assert len(metrics["Metrics"]) == 13
    assert not any(d["Name"] == "Host" for m in metrics["Metrics"] for d in m["Dimensions"])


def test_operator_refuses_to_run_without_an_environment_name(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_ENV_NAME", raising=False)
    op = WorkerMetricsOperator(task_id="t", cpu_interval=0.01)
    with pytest.raises(MetricValidationError, match="set AIRFLOW_ENV_NAME"):
        op.execute({})  # type: ignore[arg-type]
    assert aws.client("cloudwatch").list_metrics()["Metrics"] == []


def test_operator_returns_a_summary_with_one_request(aws: LocalAws, tmp_path: Path) -> None:
    op = WorkerMetricsOperator(
        task_id="t",
        environment_name="direct",
        category="Custom",
        cpu_interval=0.05,
        paths={"Data": str(tmp_path)},
        include_host=True,
    )
    summary = op.execute({})  # type: ignore[arg-type]
    assert summary["requests"] == 1
    assert summary["namespace"] == "MWAA-Custom"
    assert set(summary["metrics"]) == {*UNITS, "DiskUtilization:Data", "DiskFree:Data"}
    listed = aws.client("cloudwatch").list_metrics(Namespace="MWAA-Custom")["Metrics"]
    assert len(listed) == 11
    assert all({d["Name"] for d in m["Dimensions"]} >= {"Environment", "Category", "Host"} for m in listed)
