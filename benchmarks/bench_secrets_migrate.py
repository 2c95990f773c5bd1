"""How long migrating 500 connections and 500 variables into Secrets Manager takes (moto's server),
and how many API calls each item costs, counted with botocore event hooks.

    ./dev shell python benchmarks/bench_secrets_migrate.py [--items 500] [--workers 1,4,8]

Each scenario starts from an empty moto: a first run (everything created), a second run
(nothing changed: the plan reads, writes nothing), and a run where every value changed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from typing import Any


def _prepare_airflow_config() -> None:
    # Airflow reads its configuration on import: give it a throw-away home (no DB is needed).
    from airflow_mwaa_extras.testing.airflow_home import create_airflow_home

    home = create_airflow_home(tempfile.mkdtemp(prefix="bench-secrets-") + "/airflow", migrate=False)
    os.environ.update(home.env)
    # Import Airflow now so its start-up is not counted as planning time.
    from airflow_mwaa_extras.secrets.uri import parse_secret

    parse_secret("warm_up", '{"conn_type": "http"}')


def _items(count: int, salt: str = "") -> tuple[list[Any], list[Any]]:
    from airflow_mwaa_extras.secrets.sources import SourceConnection, SourceVariable
    from airflow_mwaa_extras.secrets.uri import ConnectionParts

    conns = [
        SourceConnection(
            f"conn_{i:04d}",
            ConnectionParts(
                conn_id=f"conn_{i:04d}",
                conn_type="postgres",
                host=f"db{i}.internal.example.com",
                login=f"user{i}@corp",
                password=f"p@ss:/?#%+ {i} ünï{salt}",
                schema="analytics",
                port=5432,
                extra={"sslmode": "require", "application_name": f"etl {i}"},
            ),
        )
        for i in range(count)
    ]
    variables = [
        SourceVariable(f"var_{i:04d}", f'{{"n": {i}, "s": "välue {i}{salt}"}}') for i in range(count)
    ]
    return conns, variables


class CallCounter:
    """API calls (``before-call``) and HTTP requests incl. retries (``before-send``)."""

    def __init__(self, client: Any) -> None:
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self.requests = 0
        client.meta.events.register("before-call.secrets-manager", self._on_call)
        client.meta.events.register("before-send.secrets-manager", self._on_send)

    def _on_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[model.name] = self.calls.get(model.name, 0) + 1

    def _on_send(self, **_: Any) -> None:
        with self._lock:
            self.requests += 1

    def reset(self) -> None:
        self.calls, self.requests = {}, 0

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def _run(
    client: Any, counter: CallCounter, conns: list[Any], variables: list[Any], workers: int
) -> dict[str, Any]:
    from airflow_mwaa_extras.secrets.migrate import MigrationOptions, plan_migration
    from airflow_mwaa_extras.secrets.migrate_apply import apply_plan

    options = MigrationOptions(workers=workers)
    counter.reset()
    started = time.perf_counter()
    plan = plan_migration(client, conns, variables, options)
    planned = time.perf_counter()
    result = apply_plan(client, plan, options)
    finished = time.perf_counter()
    assert not result.failures, result.failures
    return {
        "plan_s": planned - started,
        "apply_s": finished - planned,
        "total_s": finished - started,
        "calls": counter.total,
        "requests": counter.requests,
        "by_op": dict(sorted(counter.calls.items())),
        "written": result.written,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500, help="connections and variables each (default 500)")
    parser.add_argument("--workers", default="1,4,8", help="comma-separated writer counts (default 1,4,8)")
    parser.add_argument(
        "--repeats", type=int, default=2, help="runs per cell; the fastest is shown (default 2)"
    )
    args = parser.parse_args()
    _prepare_airflow_config()

    from airflow_mwaa_extras.testing.local_aws import start_local_aws

    conns, variables = _items(args.items)
    changed_conns, changed_vars = _items(args.items, salt=" v2")
    total_items = len(conns) + len(variables)
    aws = start_local_aws()
    rows: list[tuple[int, str, dict[str, Any]]] = []
    try:
        client = aws.client("secretsmanager")
        counter = CallCounter(client)
        worker_counts = [int(w) for w in args.workers.split(",")]
        best: dict[tuple[int, str], dict[str, Any]] = {}
        # Worker counts take turns in every repeat, so load from other processes on the machine
        # hits them alike; each cell keeps its fastest run.
        for _ in range(args.repeats):
            for workers in worker_counts:
                aws.reset()
                runs = (
                    ("first run (create)", _run(client, counter, conns, variables, workers)),
                    ("re-run (unchanged)", _run(client, counter, conns, variables, workers)),
                    ("all changed", _run(client, counter, changed_conns, changed_vars, workers)),
                )
                for label, run in runs:
                    if (workers, label) not in best or run["total_s"] < best[workers, label]["total_s"]:
                        best[workers, label] = run
        rows = [(workers, label, run) for (workers, label), run in best.items()]
    finally:
        aws.stop()

    print(
        f"Migrating {args.items} connections + {args.items} variables ({total_items} items) into moto's Secrets Manager"
    )
    header = f"{'workers':>7} {'scenario':<20} {'plan s':>7} {'apply s':>8} {'total s':>8} {'items/s':>8} {'calls':>6} {'calls/item':>10} {'HTTP req':>8}  operations"
    print(header)
    print("-" * len(header))
    for workers, label, run in rows:
        ops = ", ".join(f"{name} {count}" for name, count in run["by_op"].items())
        print(
            f"{workers:>7} {label:<20} {run['plan_s']:>7.2f} {run['apply_s']:>8.2f} {run['total_s']:>8.2f} "
            f"{total_items / run['total_s']:>8.0f} {run['calls']:>6} {run['calls'] / total_items:>10.3f} "
            f"{run['requests']:>8}  {ops}"
        )
    base = {label: run["total_s"] for workers, label, run in rows if workers == rows[0][0]}
    print()
    print(f"Speed-up against {rows[0][0]} worker(s), same scenario (higher is faster):")
    for workers, label, run in rows:
        print(f"  {workers:>2} workers, {label:<20} x{base[label] / run['total_s']:.2f}")


if __name__ == "__main__":
    main()
