"""Bulk remote work at MWAA's limits: 1,000 variables and 200 triggers through the MWAA stand-in.

Three ways side by side, against one stand-in (InvokeRestApi throttled at 10 calls a second per
environment, as MWAA; every CLI command takes at least ``--cli-latency`` seconds, as MWAA's take
one to several):

- ours over InvokeRestApi (``import_variables(transport="rest_api")``, ``trigger_many``);
- ours over the CLI endpoint (the same functions, ``transport="cli"``);
- the MWAA user guide's scripts: "Using a DAG to import variables in the CLI" (one CLI token
  before the loop, ``"variables set {key} {value}"`` per key) and "Invoking DAGs in different
  Amazon MWAA environments" (a token and ``dags trigger DAG`` per run), reproduced as written;
  the only changes are ``http://`` for the loopback stand-in and its ``endpoint_url``.

The CLI sides take about ``--cli-latency`` seconds per command, so 1,000 keys would take most of
an hour: they run on ``--cli-items`` items, and the table says so and extrapolates their per-item
rate. What arrived is read from the remote's metadata DB, not from the clients.

    MWAA_EXTRAS_TEST_PG_DSN=... MWAA_VERSION=3.3.1 ./dev shell python benchmarks/bench_remote_bulk.py \
        [--variables 1000] [--triggers 200] [--cli-items 30] [--cli-latency 1.5]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from airflow_mwaa_extras.mwaa.bulk_triggers import make_items, trigger_many
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.mwaa.dag_runs import RemoteDagRuns
from airflow_mwaa_extras.mwaa.rest_api import MwaaRestApiClient, supports_invoke_rest_api
from airflow_mwaa_extras.mwaa.variables_import import DEFAULT_RATE, import_variables
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.local_aws import fake_credentials_env
from airflow_mwaa_extras.testing.mwaa_standin import MwaaStandin, start_mwaa_standin
from airflow_mwaa_extras.testing.mwaa_standin_target import (
    TARGET_DAG_ID,
    count_runs,
    prepare_remote_home,
    run_counts,
    stored_variables,
)

ENV = "bench"
THROTTLE = 10.0  # MWAA's InvokeRestApi calls a second per environment


def variables_in_db(home: AirflowHome, prefix: str, expected: dict[str, str]) -> int:
    """How many of ``expected`` the remote DB holds with the expected value."""
    stored = stored_variables(home, prefix)
    return sum(1 for key, value in expected.items() if stored.get(key) == value)


def runs_in_db(home: AirflowHome, run_ids: list[str]) -> int:
    counts = run_counts(home, TARGET_DAG_ID)
    return sum(1 for run_id in run_ids if counts.get(run_id))


# --- the guide's scripts, as written (http:// for the loopback stand-in) -----------------------


def guide_variables_import(standin: MwaaStandin, var_file: Path) -> int:
    """User guide, "Using a DAG to import variables in the CLI" (L9759-9864 of the seed)."""
    import boto3
    import requests

    try:
        boto3.setup_default_session(region_name="{}".format("us-east-1"))
        mwaa_env_name = "{}".format(ENV)  # noqa: UP032 - the guide's code
        client = boto3.client("mwaa", endpoint_url=standin.endpoint_url)
        mwaa_cli_token = client.create_cli_token(Name=mwaa_env_name)
        with open("{}".format(var_file)) as myfile:  # noqa: UP032 - the guide's code
            fileconf = myfile.read().replace("\n", "")
        json_dictionary = json.loads(fileconf)
        for key in json_dictionary:
            print(key, " ", json_dictionary[key], file=sys.stderr)
            val = key + " " + json_dictionary[key]
            mwaa_auth_token = "Bearer " + mwaa_cli_token["CliToken"]
            mwaa_webserver_hostname = "http://{0}/aws_mwaa/cli".format(  # noqa: UP030
                mwaa_cli_token["WebServerHostname"]
            )
            raw_data = "variables set {0}".format(val)  # noqa: UP030, UP032 - the guide's code
            mwaa_response = requests.post(
                mwaa_webserver_hostname,
                headers={"Authorization": mwaa_auth_token, "Content-Type": "text/plain"},
                data=raw_data,
            )
            mwaa_std_err_message = base64.b64decode(mwaa_response.json()["stderr"]).decode("utf8")
            mwaa_std_out_message = base64.b64decode(mwaa_response.json()["stdout"]).decode("utf8")
            print(mwaa_response.status_code, file=sys.stderr)
            print(mwaa_std_err_message[-200:], file=sys.stderr)
            print(mwaa_std_out_message[-200:], file=sys.stderr)
    except:  # noqa: E722 - the guide's bare except, kept
        print("Unexpected error:", sys.exc_info()[0], file=sys.stderr)
        return 2
    return 0


def guide_invoke_dag(standin: MwaaStandin) -> None:
    """User guide, "Invoking DAGs in different Amazon MWAA environments": the task's body."""
    import boto3
    import requests

    client = boto3.client("mwaa", endpoint_url=standin.endpoint_url, region_name="us-east-1")
    token = client.create_cli_token(Name=ENV)
    url = f"http://{token['WebServerHostname']}/aws_mwaa/cli"
    body = "dags trigger " + TARGET_DAG_ID
    headers = {"Authorization": "Bearer " + token["CliToken"], "Content-Type": "text/plain"}
    requests.post(url, data=body, headers=headers)


# --- measuring ---------------------------------------------------------------------------------


def measure(standin: MwaaStandin, work: Any) -> dict[str, float]:
    before = standin.stats.as_dict()
    started = time.monotonic()
    work()
    wall = time.monotonic() - started
    after = standin.stats.as_dict()
    delta = {key: after[key] - before[key] for key in after}
    return {
        "wall_s": wall,
        "rest_calls": delta["rest_api_calls"],
        "throttled": delta["rest_api_throttled"],
        "cli_requests": delta["cli_requests"],
        "requests": delta["rest_api_calls"] + delta["cli_requests"] + delta["token_calls"],
    }


def make_values(count: int, tag: str) -> dict[str, str]:
    # every tenth value has a space, as real values do (URLs with spaces, sentences, lists)
    return {f"bench_{tag}_{n:04d}": (f"value {n}" if n % 10 == 0 else f"v{n}-{tag}") for n in range(count)}


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    line = "| " + " | ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    out = [line, "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for row in rows:
        out.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--variables", type=int, default=1000)
    parser.add_argument("--triggers", type=int, default=200)
    parser.add_argument(
        "--cli-items", type=int, default=30, help="items for the CLI-endpoint sides (ours and the guide's)"
    )
    parser.add_argument(
        "--cli-latency", type=float, default=1.5, help="seconds per CLI command (MWAA: 1 to several)"
    )
    parser.add_argument(
        "--rate", type=float, default=DEFAULT_RATE, help="our InvokeRestApi requests a second"
    )
    args = parser.parse_args()
    os.environ.update(fake_credentials_env())
    work = Path(tempfile.mkdtemp(prefix="bench-remote-bulk-"))
    try:
        print(f"preparing a local environment in {work} ...", file=sys.stderr)
        home = prepare_remote_home(work / "home", pg_dsn=os.environ.get("MWAA_EXTRAS_TEST_PG_DSN") or None)
        home.airflow("dags", "unpause", TARGET_DAG_ID)  # no scheduler: runs stay queued
        with start_mwaa_standin({ENV: home}, cli_latency=args.cli_latency) as standin:
            os.environ.update(standin.env)
            cli = MwaaEnvironmentClient(ENV, endpoint_url=standin.endpoint_url, timeout=600)
            version = cli.airflow_version
            if not supports_invoke_rest_api(cli.mwaa_client):
                print("this botocore has no InvokeRestApi: run with MWAA_VERSION=3.3.1", file=sys.stderr)
                return 2
            rest = MwaaRestApiClient(
                ENV, mwaa_client=cli.mwaa_client, min_interval=1 / args.rate, max_attempts=10
            )
            rest.get("/dags", {"limit": 1})  # starts the local REST API (not part of any side)
            cli.run("version")  # starts the stand-in's warm CLI server (not part of any side)
            results: dict[str, dict[str, float]] = {}
            lost: dict[str, int] = {}
            items: dict[str, int] = {}

            def quiet(_line: str) -> None:
                return None

            # variables
            for side, count, transport in (
                ("vars ours REST", args.variables, "rest_api"),
                ("vars ours CLI", args.cli_items, "cli"),
            ):
                values = make_values(count, side.split()[-1].lower())
                state = work / f"{side.replace(' ', '_')}.progress"
                results[side] = measure(
                    standin,
                    lambda v=values, s=state, t=transport: import_variables(
                        ENV, v, state_file=s, transport=t, cli_client=cli, rest_client=rest, report=quiet
                    ),
                )
                prefix = f"bench_{side.split()[-1].lower()}_"
                lost[side], items[side] = count - variables_in_db(home, prefix, values), count
                print(f"{side}: {results[side]}", file=sys.stderr)
            values = make_values(args.cli_items, "guide")
            source = work / "guide_vars.json"
            source.write_text(json.dumps(values))
            results["vars guide"] = measure(standin, lambda: guide_variables_import(standin, source))
            lost["vars guide"] = args.cli_items - variables_in_db(home, "bench_guide_", values)
            items["vars guide"] = args.cli_items
            print(f"vars guide: {results['vars guide']}", file=sys.stderr)

            # triggers
            for side, count, transport in (
                ("trig ours REST", args.triggers, "rest_api"),
                ("trig ours CLI", args.cli_items, "cli"),
            ):
                tag = side.split()[-1].lower()
                batch = make_items(
                    (f"item {n}", {"dag_id": TARGET_DAG_ID, "conf": {"bench": tag, "n": n}})
                    for n in range(count)
                )
                remote = RemoteDagRuns(ENV, transport=transport, cli_client=cli, rest_client=rest)
                results[side] = measure(standin, lambda r=remote, b=batch: trigger_many(r, b, report=quiet))
                lost[side] = count - runs_in_db(home, [item.run_id for item in batch])
                items[side] = count
                print(f"{side}: {results[side]}", file=sys.stderr)
            before = count_runs(home, TARGET_DAG_ID)
            results["trig guide"] = measure(
                standin, lambda: [guide_invoke_dag(standin) for _ in range(args.cli_items)]
            )
            lost["trig guide"] = args.cli_items - (count_runs(home, TARGET_DAG_ID) - before)
            items["trig guide"] = args.cli_items
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def per_item(side: str) -> float:
        return results[side]["wall_s"] / items[side]

    rows = []
    for side in results:
        r = results[side]
        rows.append(
            (
                side,
                str(items[side]),
                str(int(r["requests"])),
                str(int(r["throttled"])),
                f"{r['wall_s']:.1f}",
                f"{per_item(side):.3f}",
                str(lost[side]),
            )
        )
    header = ("side", "items", "requests", "throttled", "wall (s)", "s/item", "lost")
    print(
        f"\nAirflow {version} behind the stand-in (InvokeRestApi throttled at {THROTTLE:g}/s; "
        f"CLI commands at least {args.cli_latency:g} s); ours at {args.rate:g} requests/s\n"
    )
    print(table(rows, header))
    floor = args.variables / THROTTLE
    rest_wall = results["vars ours REST"]["wall_s"]
    cli_1000 = per_item("vars ours CLI") * args.variables
    guide_1000 = per_item("vars guide") * args.variables
    print(
        f"\nThe CLI-endpoint sides (ours and the guide's) ran on {args.cli_items} items; at their per-item rate "
        f"{args.variables} variables would take {cli_1000:.0f} s (ours, CLI) and {guide_1000:.0f} s (guide)."
    )
    print(
        f"variables, REST wall / throttle floor ({args.variables} requests at {THROTTLE:g}/s = {floor:.0f} s): "
        f"{rest_wall / floor:.2f}  (goal <= 1.3)"
    )
    print(
        f"variables, CLI path (extrapolated to {args.variables}) / REST: {cli_1000 / rest_wall:.1f}x  (goal >= 10)"
    )
    print(f"variables, guide (extrapolated) / REST: {guide_1000 / rest_wall:.1f}x")
    trig_rest = results["trig ours REST"]
    print(
        f"triggers, REST wall / floor of its own requests ({int(trig_rest['requests'])} at {THROTTLE:g}/s): "
        f"{trig_rest['wall_s'] / (trig_rest['requests'] / THROTTLE):.2f}; CLI path (extrapolated to "
        f"{args.triggers}) / REST: {per_item('trig ours CLI') * args.triggers / trig_rest['wall_s']:.1f}x"
    )
    ours_lost = sum(lost[side] for side in lost if "ours" in side)
    print(f"lost by ours: {ours_lost}; by the guide's scripts: {lost['vars guide'] + lost['trig guide']}")
    return 0 if ours_lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
