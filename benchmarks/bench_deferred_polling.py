"""How often a deferred remote DAG run wait polls MWAA: polls per minute against ``poll_interval``.

The trigger (``MwaaRemoteDagRunTrigger``) watches a run that stays queued (no scheduler runs in
the target home) for ``--window`` seconds, through the MWAA stand-in; the table shows the polls
it made, the rate the interval allows, and the CLI requests the stand-in saw per poll (one per
poll over the CLI endpoint). Was ``test_deferred_polling_rate_is_measured`` in the suite.

    ./dev shell python benchmarks/bench_deferred_polling.py [--window 20] [--poll-interval 2] [--transport cli]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from airflow_mwaa_extras.mwaa.dag_runs import RemoteDagRuns, deterministic_run_id
from airflow_mwaa_extras.mwaa.rest_api import supports_invoke_rest_api
from airflow_mwaa_extras.testing.mwaa_standin import start_mwaa_standin
from airflow_mwaa_extras.testing.mwaa_standin_target import TARGET_DAG_ID, prepare_remote_home

ENV = "bench-polling"


async def _watch(trigger: object, seconds: float) -> None:
    async def consume() -> None:
        async for _event in trigger.run():  # type: ignore[attr-defined]
            raise AssertionError("a queued run must not end the wait")

    try:
        await asyncio.wait_for(consume(), timeout=seconds)
    except TimeoutError:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--window", type=float, default=20.0, help="seconds to watch the deferred wait")
    parser.add_argument("--poll-interval", type=float, default=2.0)
    parser.add_argument("--transport", choices=("cli", "rest_api"), default="cli")
    args = parser.parse_args()
    if args.transport == "rest_api" and not supports_invoke_rest_api():
        print("this botocore has no InvokeRestApi: use --transport cli", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-polling-"))
    home = prepare_remote_home(work / "home")
    api = None
    try:
        if args.transport == "rest_api":
            from airflow_mwaa_extras.testing.local_rest_api import start_local_rest_api
            from airflow_mwaa_extras.testing.standin_rest_api import register_local_rest_api

            api = start_local_rest_api(home)
            register_local_rest_api(ENV, home, api)
        with start_mwaa_standin({ENV: home}) as standin:
            os.environ.update(standin.env)
            os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps(
                {
                    "conn_type": "aws",
                    "extra": {"region_name": "us-east-1", "endpoint_url": standin.endpoint_url},
                }
            )
            # Airflow is imported only now: the trigger reads the connection above.
            from airflow_mwaa_extras.triggers.remote_dag_run import MwaaRemoteDagRunTrigger

            run_id = deterministic_run_id("bench-polling", os.getpid(), time.time())
            RemoteDagRuns(ENV, transport=args.transport, endpoint_url=standin.endpoint_url).trigger(
                TARGET_DAG_ID,
                run_id=run_id,
                conf={},
                allow_paused=True,  # paused: the run stays queued
            )
            trigger = MwaaRemoteDagRunTrigger(
                environment_name=ENV,
                dag_id=TARGET_DAG_ID,
                run_id=run_id,
                poll_interval=args.poll_interval,
                transport=args.transport,
            )
            cli_before = standin.stats.cli_requests
            started = time.monotonic()
            asyncio.run(_watch(trigger, args.window))
            elapsed = time.monotonic() - started
            cli_requests = standin.stats.cli_requests - cli_before
        per_minute = trigger.polls * 60 / elapsed
        allowed = 60 / args.poll_interval
        print(
            f"deferred wait over {args.transport}, poll_interval={args.poll_interval:g} s, {elapsed:.1f} s watched:"
        )
        print(f"| {'figure':<36} | {'value':>8} |")
        print(f"|{'-' * 38}|{'-' * 10}|")
        print(f"| {'polls':<36} | {trigger.polls:>8} |")
        print(f"| {'polls per minute':<36} | {per_minute:>8.1f} |")
        print(f"| {'polls per minute the interval allows':<36} | {allowed:>8.1f} |")
        print(f"| {'CLI requests seen by the stand-in':<36} | {cli_requests:>8} |")
        print(
            f"measured/allowed: {per_minute / allowed:.2f} (at most 1 means never faster than poll_interval)"
        )
        if args.transport == "cli":
            print(f"CLI requests per poll: {cli_requests / max(trigger.polls, 1):.2f}")
        return 0 if per_minute <= allowed + 1 else 1
    finally:
        if api is not None:
            from airflow_mwaa_extras.testing.standin_rest_api import stop_local_rest_apis

            stop_local_rest_apis(ENV)
        home.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
