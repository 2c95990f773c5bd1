"""Trigger a DAG in a second local "MWAA environment" through the MWAA stand-in's CLI endpoint."""

from __future__ import annotations

from airflow_mwaa_extras.demo.runner import DemoContext, DemoStepError
from airflow_mwaa_extras.mwaa import commands
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.testing.mwaa_standin import start_mwaa_standin
from airflow_mwaa_extras.testing.mwaa_standin_target import TARGET_DAG_ID, prepare_remote_home, run_conf

ORDER = 10
TITLE = "Remote CLI: trigger a DAG in a second environment through the MWAA stand-in"


def run(ctx: DemoContext) -> None:
    remote = prepare_remote_home(ctx.workdir / "remote-environment")
    ctx.resources.callback(remote.cleanup)
    standin = ctx.resources.enter_context(start_mwaa_standin({"analytics": remote}))
    ctx.say(f"MWAA stand-in on {standin.endpoint_url}: environment 'analytics' = {remote.path}")

    client = MwaaEnvironmentClient("analytics", endpoint_url=standin.endpoint_url, region_name="us-east-1")
    conf = {"source": "s3://landing/it's; $(not a command)", "rows": 42}
    run_id = "demo__remote_cli"
    cmd = commands.dags_trigger(
        TARGET_DAG_ID, airflow_version=client.airflow_version, conf=conf, run_id=run_id
    )
    ctx.say(f"Airflow {client.airflow_version} there; sending: {cmd.to_shell()}")
    client.run(cmd)
    stored = run_conf(remote, TARGET_DAG_ID, run_id)
    if stored != conf:
        raise DemoStepError(f"the remote run's conf is {stored!r}, expected {conf!r}")
    ctx.say(f"run {run_id} exists in the other environment's DB with the conf sent, byte for byte")
    stats = client.stats
    ctx.say(f"{stats.token_calls} CLI token(s), {stats.http_requests} request(s), {stats.http_503} 503(s)")
    ctx.say(f"login URL: {client.web_login_url()}")
