"""Migrate connections and variables into Secrets Manager, then read one back masked in a task."""

from __future__ import annotations

import json
import subprocess
import sys

from airflow_mwaa_extras.demo.runner import DemoContext, DemoStepError
from airflow_mwaa_extras.processes import run_captured

ORDER = 60
TITLE = "Secrets Manager: migrate connections and variables, read one back masked"

API_KEY = "demo-api-key @:/?#%+ 42"
CONNECTIONS = {
    "warehouse": {
        "conn_type": "postgres",
        "host": "warehouse.internal.example.com",
        "login": "etl@corp",
        "password": "p@ss:/?#%+ word",  # breaks the guide's str.format URI
        "schema": "analytics",
        "port": 5432,
        "extra": json.dumps({"sslmode": "require"}),
    },
    "aws_default": {"conn_type": "aws"},
}
VARIABLES = {"mwaa_extras_example_api_key": API_KEY, "batch_size": "500"}


def _mwaa_extras(ctx: DemoContext, *args: str) -> subprocess.CompletedProcess[str]:
    proc = run_captured(
        [sys.executable, "-m", "airflow_mwaa_extras", "secrets", *args],
        timeout=300,
        env=ctx.home.full_env(ctx.aws.env),
    )
    if proc.returncode != 0:
        raise DemoStepError(
            f"mwaa-extras secrets {args[0]} exited {proc.returncode}: {proc.stderr.strip()[-500:]}"
        )
    return proc


def run(ctx: DemoContext) -> None:
    folder = ctx.workdir / "secrets"
    folder.mkdir(exist_ok=True)
    conns, variables = folder / "connections.json", folder / "variables.json"
    conns.write_text(json.dumps(CONNECTIONS), encoding="utf-8")
    variables.write_text(json.dumps(VARIABLES), encoding="utf-8")
    sources = ["--connections-file", str(conns), "--variables-file", str(variables)]

    plan = _mwaa_extras(ctx, "migrate", "--dry-run", *sources).stdout
    for line in plan.strip().splitlines():
        ctx.say(line if line.startswith("dry run:") else f"dry run: {line}")
    done = _mwaa_extras(ctx, "migrate", "--quiet", *sources).stdout
    ctx.say(done.strip().splitlines()[-1])
    again = _mwaa_extras(ctx, "migrate", "--quiet", *sources).stdout
    if "0 written" not in again:
        raise DemoStepError("a second migration wrote secrets again")
    ctx.say("second run: " + again.strip().splitlines()[-1])
    for line in _mwaa_extras(ctx, "config", "--mwaa-version", "2.10.3").stdout.strip().splitlines():
        ctx.say(f"config: {line}")
    if API_KEY in plan + done + again or "p@ss" in plan + done + again:
        raise DemoStepError("a secret value reached the output")

    # `tasks test` masks task output the way a worker does.
    proc = ctx.home.airflow(
        "tasks", "test", "example_mwaa_extras_secrets", "use_secret", check=False, extra_env=ctx.dag_env()
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 or "key=***" not in output:
        raise DemoStepError(
            f"example_mwaa_extras_secrets did not log the masked key: {output.strip()[-800:]}"
        )
    if API_KEY in output:
        raise DemoStepError("the secret reached the task log unmasked")
    ctx.say("example_mwaa_extras_secrets read the migrated key; its task log shows key=***")
