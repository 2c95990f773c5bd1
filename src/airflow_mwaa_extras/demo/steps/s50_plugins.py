"""The plugins in a real Airflow: listed once each, the time zone and variables reach a task."""

from __future__ import annotations

import json

from airflow_mwaa_extras.demo.runner import DemoContext, DemoStepError

ORDER = 50
TITLE = "Plugins: time zone, environment variables, virtualenv fix (loaded once each)"

OURS = ("mwaa_extras_timezone", "mwaa_extras_virtualenv", "mwaa_extras_env_vars")


def run(ctx: DemoContext) -> None:
    listing = ctx.home.airflow("plugins", "-o", "json")
    text = listing.stdout
    start = text.find("[{")
    names = [p["name"] for p in json.loads(text[start:])] if start >= 0 else []
    for name in OURS:
        if names.count(name) != 1:
            raise DemoStepError(f"airflow plugins lists {name} {names.count(name)} times, expected once")
    ctx.say(f"airflow plugins lists {', '.join(OURS)} once each (entry points)")

    (ctx.home.plugins_folder / "env_vars.json").write_text(
        json.dumps(
            {
                "set": {"JAVA_HOME": "/usr/lib/jvm/jre", "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor"},
                "prepend": {"PATH": ["{plugins_folder}/bin"]},
            }
        )
    )
    extra = {
        "AIRFLOW__MWAA_EXTRAS__TIMEZONE": "America/Los_Angeles",
        "AIRFLOW__MWAA_EXTRAS__ENV_VARS_FILE": "env_vars.json",
    }
    proc = ctx.home.airflow(
        "dags", "test", "example_mwaa_extras_timezone", check=False, extra_env=ctx.dag_env(extra)
    )
    out = proc.stdout + proc.stderr
    if proc.returncode != 0 or "MWAA_EXTRAS_TZ tz=America/Los_Angeles" not in out:
        raise DemoStepError(f"the timezone example DAG did not run in America/Los_Angeles:\n{out[-1500:]}")
    seen = next(line for line in out.splitlines() if "MWAA_EXTRAS_TZ" in line)
    ctx.say(f"task log with [mwaa_extras] timezone = America/Los_Angeles: {seen.strip()[:160]}")
    if "refusing to change AIRFLOW__CORE__EXECUTOR" not in out:
        raise DemoStepError("the env vars plugin did not refuse the reserved AIRFLOW__CORE__EXECUTOR")
    if "env vars plugin: changed JAVA_HOME, PATH" not in out:
        raise DemoStepError("the env vars plugin did not set JAVA_HOME and prepend to PATH")
    ctx.say("env vars plugin: JAVA_HOME set, PATH prepended, reserved AIRFLOW__CORE__EXECUTOR refused")
    for line in out.splitlines():
        if "mwaa_extras virtualenv plugin" in line:
            ctx.say(f"virtualenv plugin: {line.split('virtualenv plugin:', 1)[1].strip()[:140]}")
            break
