"""Worker resource metrics in one batched request, and task metrics from the listener plugin."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_mwaa_extras.demo.runner import DemoContext, DemoStepError

ORDER = 30
TITLE = "CloudWatch metrics: worker resources batched, task metrics from the listener"

DAG_ID = "example_mwaa_extras_cloudwatch_metrics"
ENVIRONMENT = "demo-env"


def _latest(cw: Any, name: str, dims: dict[str, str], unit: str) -> list[float]:
    now = datetime.now(UTC)
    result = cw.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "q",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "MWAA-Custom",
                        "MetricName": name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                    "Unit": unit,
                },
            }
        ],
        StartTime=now - timedelta(minutes=30),
        EndTime=now + timedelta(minutes=5),
    )
    return list(result["MetricDataResults"][0]["Values"])


def run(ctx: DemoContext) -> None:
    env = {
        "AIRFLOW_ENV_NAME": ENVIRONMENT,
        "AIRFLOW__MWAA_EXTRAS__TASK_METRICS_ENABLED": "True",
        "AWS_DISABLE_REQUEST_COMPRESSION": "true",  # moto 5.0 cannot read gzip bodies
    }
    # `airflow dags test` directly: on Airflow 2 it does not write the DAG to the `dag` table,
    # so the run's state is read from its own log line rather than from `dags list-runs`.
    proc = ctx.home.airflow("dags", "test", DAG_ID, check=False, timeout=600, extra_env=ctx.dag_env(env))
    states = re.findall(rf"DagRun Finished: dag_id={DAG_ID},.*?state=(\w+)", proc.stdout + proc.stderr)
    if proc.returncode != 0 or states[-1:] != ["success"]:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        raise DemoStepError(f"airflow dags test {DAG_ID} did not succeed:\n  " + "\n  ".join(tail))
    ctx.say(f"airflow dags test {DAG_ID}: success")
    cw = ctx.aws.client("cloudwatch")
    worker = {"Environment": ENVIRONMENT, "Category": "WorkerResources"}
    metrics = cw.list_metrics(
        Namespace="MWAA-Custom", Dimensions=[{"Name": "Category", "Value": "WorkerResources"}]
    )
    ctx.say(
        f"worker metrics in MWAA-Custom: {len(metrics['Metrics'])} (published in one PutMetricData request)"
    )
    for name, unit in (("MemoryUsed", "Bytes"), ("MemoryLimit", "Bytes"), ("CPUUtilization", "Percent")):
        values = _latest(cw, name, worker, unit)
        if len(values) != 1:
            raise DemoStepError(f"worker metric {name} not found in CloudWatch")
        ctx.say(f"  {name} = {values[0]:,.1f} {unit}")
    if len(metrics["Metrics"]) != 13:
        raise DemoStepError(f"expected 13 worker metrics, found {len(metrics['Metrics'])}")
    task = {"Environment": ENVIRONMENT, "DagId": DAG_ID, "Outcome": "success"}
    finished = _latest(cw, "TaskInstanceFinished", task, "Count")
    if finished != [1.0]:
        raise DemoStepError(f"the task metrics listener did not publish TaskInstanceFinished ({finished})")
    ctx.say(f"task metrics listener: TaskInstanceFinished = 1 for {DAG_ID} (Outcome=success)")
