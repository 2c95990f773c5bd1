"""Publishing the worker metric set: our batched hook path vs the user guide's one call per metric.

Both sides publish the same 13 data (one real sample of this machine) to moto's server on
127.0.0.1, alternating round by round in one run, through the same boto3 client. Requests are
counted with a botocore event hook as they are sent. moto answers in microseconds where
CloudWatch takes milliseconds, so the wall-time ratio here is a lower bound of the real one;
the request ratio is exact.

    ./dev shell python benchmarks/bench_cloudwatch_metrics.py [--rounds 30]

Then, side by side against CloudWatch behind a fault proxy (2 s read timeout, so it is quick):
botocore's own retries (what the package did before, 4 attempts) against ours (botocore never
resends; we resend only what cannot have arrived): the seconds a call is held by a CloudWatch
that never answers, and how many copies of one datum CloudWatch stores when it answers late.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

from airflow_mwaa_extras.metrics.datum import shape_datums
from airflow_mwaa_extras.metrics.publish import cloudwatch_client_config, put_entries
from airflow_mwaa_extras.metrics.worker_sample import sample_worker
from airflow_mwaa_extras.testing.faulty_http import FaultyHttpProxy
from airflow_mwaa_extras.testing.local_aws import REGION, LocalAws, local_aws

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
        client = _client(aws.endpoint_url, cloudwatch_client_config())
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
    with local_aws() as aws:
        faults(aws)


def _client(endpoint: str, config: Any) -> Any:
    import boto3

    return boto3.client(
        "cloudwatch",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def faults(aws: LocalAws) -> None:
    """A hung and a late CloudWatch: botocore's retries (before) against ours, side by side."""
    from botocore.config import Config

    entry = [{"MetricName": "Finished", "Value": 1.0, "Unit": "Count", "Dimensions": []}]
    retrying = Config(
        retries={"mode": "standard", "total_max_attempts": 4}, connect_timeout=1, read_timeout=2
    )
    ours_config = cloudwatch_client_config(connect_timeout=1, read_timeout=2)
    print("\nFaults (read timeout 2 s; 'late' answers after 3 s): seconds held / copies stored")
    rows = {}
    for name, config in (("botocore retries (before)", retrying), ("ours", ours_config)):
        with FaultyHttpProxy(aws.endpoint_url) as proxy:
            client = _client(proxy.url, config)
            results = []
            for fault in ("hang", "late"):
                aws.reset()
                proxy.set_fault(fault, delay=3)
                started = time.perf_counter()
                try:
                    if name == "ours":
                        put_entries(client, NAMESPACE, entry, time_budget=10)
                    else:
                        client.put_metric_data(Namespace=NAMESPACE, MetricData=entry)
                except Exception:  # botocore raises after its retries; ours reports "lost"
                    pass
                held = time.perf_counter() - started
                time.sleep(3.5)  # late answers land
                stats = aws.client("cloudwatch").list_metrics(Namespace=NAMESPACE)["Metrics"]
                copies = _copies(aws) if stats else 0
                results.append((fault, held, copies))
            rows[name] = results
            print(f"{name:28} " + "  ".join(f"{f}: {h:5.2f} s / {c} stored" for f, h, c in results))
    before, ours_rows = rows["botocore retries (before)"], rows["ours"]
    print(
        f"ratio before/ours: hung call held {before[0][1] / ours_rows[0][1]:.1f}x, "
        f"copies of a late datum {before[1][2]}:{ours_rows[1][2]}"
    )


def _copies(aws: LocalAws) -> int:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    stats = aws.client("cloudwatch").get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName="Finished",
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=5),
        Period=60,
        Statistics=["SampleCount"],
    )
    return int(sum(p["SampleCount"] for p in stats["Datapoints"]))


if __name__ == "__main__":
    main()
