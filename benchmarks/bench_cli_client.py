"""Trigger N DAG runs in one environment through the MWAA stand-in: our client vs the guide's way.

The guide's way (MWAA user guide, "CLI token, Python"): a new CLI token for every call, the
command built by string concatenation, no limit on concurrent requests, no retry, no status
check. Ours: MwaaEnvironmentClient (token reuse while fresh, client-side serialization, retry
of 503 with backoff). Both sides send from the same number of worker threads to the same
stand-in (real airflow CLI behind it, at most 4 commands at a time, 503 beyond).

    ./dev shell python benchmarks/bench_cli_client.py [--runs 50] [--workers 8] [--max-concurrency 1]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from airflow_mwaa_extras.mwaa import commands
from airflow_mwaa_extras.mwaa.boto_client import create_mwaa_client
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.mwaa.errors import MwaaError
from airflow_mwaa_extras.testing.local_aws import fake_credentials_env
from airflow_mwaa_extras.testing.mwaa_standin import MwaaStandin, start_mwaa_standin
from airflow_mwaa_extras.testing.mwaa_standin_target import TARGET_DAG_ID, count_runs, prepare_remote_home

ENV = "bench"


_lock = threading.Lock()


def _count(counters: dict[str, int], key: str) -> None:
    with _lock:
        counters[key] += 1


def guide_trigger(standin: MwaaStandin, run_id: str, counters: dict[str, int]) -> None:
    """The guide's snippet: token per call, string concatenation, no retry, no status check."""
    mwaa = create_mwaa_client(region_name="us-east-1", endpoint_url=standin.endpoint_url)
    token = mwaa.create_cli_token(Name=ENV)
    _count(counters, "token_calls")
    body = "dags trigger " + TARGET_DAG_ID + " --run-id " + run_id
    request = urllib.request.Request(
        f"http://{token['WebServerHostname']}/aws_mwaa/cli",
        data=body.encode(),
        method="POST",
        headers={"Authorization": "Bearer " + token["CliToken"], "Content-Type": "text/plain"},
    )
    _count(counters, "http_requests")
    try:
        with urllib.request.urlopen(request) as response:
            payload = json.loads(response.read())
            base64.b64decode(payload["stdout"]).decode("utf8")
    except urllib.error.HTTPError as err:
        if err.code == 503:
            _count(counters, "http_503")
        _count(counters, "errors")  # the guide's code would raise here (or print `null`): the run is lost


def run_side(
    name: str, standin: MwaaStandin, runs: int, workers: int, trigger: Callable[[str], None]
) -> dict[str, Any]:
    home = next(iter(standin.environments.values())).home
    before_runs = count_runs(home, TARGET_DAG_ID)
    before = standin.stats.as_dict()
    run_ids = [f"{name}__{index:03d}__{time.time_ns()}" for index in range(runs)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(trigger, run_ids))
    wall = time.monotonic() - started
    after = standin.stats.as_dict()
    created = count_runs(home, TARGET_DAG_ID) - before_runs
    return {
        "wall_s": wall,
        "runs_lost": runs - created,
        "expired_token_requests": after["cli_expired_token"] - before["cli_expired_token"],
        "server_503": after["cli_503"] - before["cli_503"],
        "server_requests": after["cli_requests"] - before["cli_requests"],
        "server_token_calls": after["token_calls"] - before["token_calls"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--workers", type=int, default=8, help="threads sending triggers, both sides")
    parser.add_argument("--max-concurrency", type=int, default=1, help="our client's limit (1 to 4)")
    parser.add_argument("--timeout", type=float, default=600.0, help="our client's per-command timeout (s)")
    args = parser.parse_args()
    os.environ.update(fake_credentials_env())
    work = Path(tempfile.mkdtemp(prefix="bench-cli-client-"))
    try:
        print(f"preparing a local environment in {work} ...", file=sys.stderr)
        # PostgreSQL when a server is given (SQLite locks under concurrent triggers, MWAA's DB does not).
        home = prepare_remote_home(work / "home", pg_dsn=os.environ.get("MWAA_EXTRAS_TEST_PG_DSN") or None)
        with start_mwaa_standin({ENV: home}) as standin:
            guide_counters = {"token_calls": 0, "http_requests": 0, "http_503": 0, "errors": 0}
            guide = run_side(
                "guide",
                standin,
                args.runs,
                args.workers,
                lambda rid: guide_trigger(standin, rid, guide_counters),
            )
            client = MwaaEnvironmentClient(
                ENV,
                endpoint_url=standin.endpoint_url,
                region_name="us-east-1",
                max_concurrency=args.max_concurrency,
            )
            version = client.airflow_version

            def ours_trigger(run_id: str) -> None:
                try:
                    client.run(commands.dags_trigger(TARGET_DAG_ID, airflow_version=version, run_id=run_id))
                except MwaaError as err:
                    print(f"ours: {err}", file=sys.stderr)

            ours = run_side("ours", standin, args.runs, args.workers, ours_trigger)
            ours_stats = client.stats
        rows = [
            ("token calls", guide_counters["token_calls"], ours_stats.token_calls),
            ("HTTP requests", guide_counters["http_requests"], ours_stats.http_requests),
            ("503s seen", guide_counters["http_503"], ours_stats.http_503),
            (
                "requests with an expired token",
                guide["expired_token_requests"],
                ours["expired_token_requests"],
            ),
            ("runs lost", guide["runs_lost"], ours["runs_lost"]),
            ("wall time (s)", round(guide["wall_s"], 1), round(ours["wall_s"], 1)),
            (
                "token calls per command",
                round(guide_counters["token_calls"] / args.runs, 2),
                round(ours_stats.token_calls / args.runs, 2),
            ),
            (
                "HTTP requests per command",
                round(guide_counters["http_requests"] / args.runs, 2),
                round(ours_stats.http_requests / args.runs, 2),
            ),
        ]
        print(
            f"\n{args.runs} triggers of {TARGET_DAG_ID} from {args.workers} threads, Airflow {version} behind the "
            f"stand-in (4 commands at a time); ours: max_concurrency={args.max_concurrency}\n"
        )
        print(f"| {'measure':<32} | {'guide':>10} | {'ours':>10} | {'ours/guide':>10} |")
        print(f"|{'-' * 34}|{'-' * 12}|{'-' * 12}|{'-' * 12}|")
        for label, g, o in rows:
            ratio = f"{o / g:.2f}" if g else ("-" if not o else "inf")
            print(f"| {label:<32} | {g:>10} | {o:>10} | {ratio:>10} |")
        completed_guide = args.runs - guide["runs_lost"]
        completed_ours = args.runs - ours["runs_lost"]
        if completed_guide and completed_ours:
            per_run = (ours["wall_s"] / completed_ours) / (guide["wall_s"] / completed_guide)
            print(f"\nwall time per run actually created, ours/guide: {per_run:.2f}")
        print(f"wall-time ratio ours/guide: {ours['wall_s'] / guide['wall_s']:.2f}")
        return 0 if ours["runs_lost"] == 0 and ours["expired_token_requests"] == 0 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
