"""Demo: environment A's DAG triggers environment B's DAG with a conf, waits, reports B's state.

B is a second local Airflow (its own metadata DB, real REST API, real scheduler) behind the
local MWAA stand-in; A is the demo's Airflow running the cross-environment example DAG.
"""

from __future__ import annotations

import json
import shutil
import time

from airflow_mwaa_extras.demo.runner import DemoContext, DemoStepError

ORDER = 20
TITLE = "Cross-environment DAG run: A triggers B's DAG, waits, reports B's final state"

TARGET = "example_mwaa_extras_remote_target"
ENV_B = "demo-env-b"


def run(ctx: DemoContext) -> None:
    from airflow_mwaa_extras.mwaa.rest_api import supports_invoke_rest_api
    from airflow_mwaa_extras.testing.airflow_home import create_airflow_home
    from airflow_mwaa_extras.testing.local_rest_api import start_local_rest_api
    from airflow_mwaa_extras.testing.local_scheduler import start_local_scheduler
    from airflow_mwaa_extras.testing.mwaa_standin import start_mwaa_standin
    from airflow_mwaa_extras.testing.standin_rest_api import register_local_rest_api, stop_local_rest_apis
    from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS

    dags = ctx.workdir / "env-b-dags"
    dags.mkdir(parents=True, exist_ok=True)
    shutil.copy(ctx.home.dags_folder / f"{TARGET}.py", dags)
    ctx.say("starting environment B: its own metadata DB, REST API and scheduler")
    home_b = create_airflow_home(
        ctx.workdir / "env-b",
        dags_folder=dags,
        extra_env={"AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False"},
    )
    ctx.resources.callback(home_b.cleanup)
    home_b.airflow("dags", "reserialize")
    api_b = start_local_rest_api(home_b, with_execution_api=AIRFLOW_V_3_0_PLUS)
    ctx.resources.callback(api_b.stop)
    scheduler_b = start_local_scheduler(home_b, api_b)
    ctx.resources.callback(scheduler_b.stop)
    register_local_rest_api(ENV_B, home_b, api_b)
    ctx.resources.callback(stop_local_rest_apis, ENV_B)
    standin = start_mwaa_standin({ENV_B: home_b})
    ctx.resources.callback(standin.stop)

    transport = "rest_api" if supports_invoke_rest_api() else "cli"
    dag_id = f"example_mwaa_extras_remote_dag_run_{transport}"
    conf = {"greeting": "Grüße from A ✓", "nested": {"items": [1, 2, 3]}, "quote": 'it\'s "fine"'}
    ctx.say(
        f"A runs {dag_id} (transport {transport}) with remote conf {json.dumps(conf, ensure_ascii=False)}"
    )
    extra = {
        **standin.env,
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
            {"conn_type": "aws", "extra": {"region_name": "us-east-1", "endpoint_url": standin.endpoint_url}}
        ),
        "MWAA_EXTRAS_REMOTE_ENVIRONMENT": ENV_B,
    }
    started = time.monotonic()
    state_a = ctx.run_dag(dag_id, conf={"remote_conf": conf}, extra_env=extra, timeout=1200)
    runs = api_b.get_json(f"/dags/{TARGET}/dagRuns", {"limit": 10})["dag_runs"]
    if not runs:
        raise DemoStepError("A's DAG finished but environment B has no run of the target DAG")
    run_b = runs[-1]
    ctx.say(
        f"A's run: {state_a}; B's run {run_b['dag_run_id']}: {run_b['state']}, conf "
        f"{json.dumps(run_b['conf'], ensure_ascii=False)} ({time.monotonic() - started:.0f} s)"
    )
    if state_a != "success" or run_b["state"] != "success" or run_b["conf"] != conf:
        raise DemoStepError(
            f"expected both runs to succeed with the conf intact; A {state_a}, B {run_b['state']}"
        )
