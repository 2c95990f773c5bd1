"""Publishing the worker metric set: our batched hook path vs the user guide's one call per metric.

Both sides publish the same 13 data (one real sample of this machine) to moto's server on
127.0.0.1, alternating round by round in one run, through the same boto3 client. Requests are
counted with a botocore event hook as they are sent. moto answers in microseconds where
CloudWatch takes milliseconds, so the wall-time ratio here is a lower bound of the real one;
the request ratio is exact.

    ./dev shell python benchmarks/bench_cloudwatch_metrics.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

from airflow_mwaa_extras.metrics.datum import shape_datums
from airflow_mwaa_extras.metrics.publish import put_entries
from airflow_mwaa_extras.metrics.worker_sample import sample_worker
from airflow_mwaa_extras.testing.local_aws import local_aws

NAMESPACE = "MWAA-Custom"
DIMENSIONS = {"Environment": "bench", "Category": "WorkerResources"}


def guide_publish(client: Any, entries: list[dict[str, Any]]) -> None:
    """The user guide's shape: one PutMetricData call per metric."""
    for entry in entries:
        client.put_metric_data(Namespace=NAMESPACE, MetricData=[entry])


def ours_publish(client: Any, entries: list[dict[str, Any]]) -> None:
    put_entries(client, NAMESPACE, entries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    # moto 5.0 cannot read gzip bodies; the metric set is far below botocore's 10 KB threshold anyway.
    os.environ["AWS_DISABLE_REQUEST_COMPRESSION"] = "true"

    sample = sample_worker(cpu_interval=0.5)
    entries = shape_datums(sample.to_datums(), default_dimensions=DIMENSIONS)
    with local_aws() as aws:
        client = aws.client("cloudwatch")
        sent = [0]
        client.meta.events.register(
            "before-send.cloudwatch.PutMetricData", lambda **_: sent.__setitem__(0, sent[0] + 1)
        )
        sides = {"ours (batched)": ours_publish, "guide (1 call per metric)": guide_publish}
        times: dict[str, list[float]] = {name: [] for name in sides}
        requests: dict[str, list[int]] = {name: [] for name in sides}
        for publish in sides.values():  # warm-up: connection, endpoint resolution
            publish(client, entries)
        for _ in range(args.rounds):
            for name, publish in sides.items():
                before = sent[0]
                started = time.perf_counter()
                publish(client, entries)
                times[name].append(time.perf_counter() - started)
                requests[name].append(sent[0] - before)

    ours, guide = "ours (batched)", "guide (1 call per metric)"
    print(
        f"Publishing the worker metric set ({len(entries)} data), {args.rounds} rounds each, moto on 127.0.0.1"
    )
    print(f"{'':28} {'requests/publish':>17} {'median ms':>10} {'p90 ms':>8}")
    for name in sides:
        ms = sorted(t * 1000 for t in times[name])
        p90 = ms[int(len(ms) * 0.9) - 1]
        print(
            f"{name:28} {statistics.mean(requests[name]):>17.1f} {statistics.median(ms):>10.2f} {p90:>8.2f}"
        )
    req_ratio = statistics.mean(requests[guide]) / statistics.mean(requests[ours])
    time_ratio = statistics.median(times[guide]) / statistics.median(times[ours])
    print(f"ratio guide/ours: requests {req_ratio:.1f}x, median wall time {time_ratio:.1f}x")


if __name__ == "__main__":
    main()
