"""The local stack is up: Airflow with its metadata DB, our provider registered, moto serving."""

from __future__ import annotations

from airflow_mwaa_extras import __version__
from airflow_mwaa_extras.demo.runner import DemoContext, DemoStepError

ORDER = 0
TITLE = "Local Airflow and AWS stand-in are up, provider registered"


def run(ctx: DemoContext) -> None:
    version = ctx.home.airflow("version").stdout.strip().splitlines()[-1]
    ctx.say(f"Airflow {version}, AIRFLOW_HOME={ctx.home.path}")
    providers = ctx.home.airflow("providers", "list", "-o", "json").stdout
    if "airflow-mwaa-extras" not in providers or __version__ not in providers:
        raise DemoStepError("airflow providers list does not show airflow-mwaa-extras")
    ctx.say(f"airflow providers list shows airflow-mwaa-extras {__version__}")
    s3 = ctx.aws.client("s3")
    s3.create_bucket(Bucket="mwaa-extras-demo")
    ctx.say(f"S3 on {ctx.aws.endpoint_url}: buckets {[b['Name'] for b in s3.list_buckets()['Buckets']]}")
