"""Metadata DB: seed 180 days of history, archive old rows to S3, verify, delete in batches."""

from __future__ import annotations

from airflow_mwaa_extras.demo.runner import DemoContext, DemoStepError
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS

ORDER = 40
TITLE = "Metadata DB: streaming export to S3 and archive-before-delete cleanup"
BUCKET = "mwaa-extras-demo-metadata"
DAG_ID = "example_mwaa_extras_metadata_cleanup"


def _counts(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                for t in ("dag_run", "task_instance", "log", "dag")
            }
    finally:
        engine.dispose()


def run(ctx: DemoContext) -> None:
    from sqlalchemy import create_engine

    from airflow_mwaa_extras.metadata.manifest import read_manifest
    from airflow_mwaa_extras.testing.metadata_seed import seed_history

    extra: dict[str, str] = {"MWAA_EXTRAS_METADATA_BUCKET": BUCKET}
    if AIRFLOW_V_3_0_PLUS:
        # Airflow 3 tasks may not touch the DB: the DAG talks to "the environment" (a second
        # local home behind the MWAA stand-in) through InvokeRestApi and the CLI endpoint.
        from airflow_mwaa_extras.testing.airflow_home import create_airflow_home
        from airflow_mwaa_extras.testing.mwaa_standin import start_mwaa_standin

        env_home = create_airflow_home(ctx.workdir / "metadata-env")
        ctx.resources.callback(env_home.cleanup)
        standin = start_mwaa_standin({"metadata-env": env_home})
        ctx.resources.callback(standin.stop)
        extra.update(standin.env)
        warm_up = True
        extra["AIRFLOW_ENV_NAME"] = "metadata-env"
    else:
        env_home = ctx.home
        warm_up = False
    engine = create_engine(env_home.sql_alchemy_conn)
    summary = seed_history(
        engine, dags=5, runs_per_dag=200, tasks_per_run=4, stuck_run=not AIRFLOW_V_3_0_PLUS
    )
    engine.dispose()
    before = _counts(env_home.sql_alchemy_conn)
    ctx.say(
        f"seeded {summary.dag_runs} DAG runs / {summary.task_instances} task instances over 180 days: {before}"
    )
    ctx.aws.client("s3").create_bucket(Bucket=BUCKET)
    if warm_up:
        from airflow_mwaa_extras.testing import standin_rest_api

        # The stand-in starts the environment's REST API on first use: do it before the task's
        # first InvokeRestApi so a slow start cannot eat the client's timeout.
        standin_rest_api.handle_invoke_rest_api(
            "metadata-env",
            env_home,
            {"Path": "/dags/~/dagRuns", "Method": "GET", "QueryParameters": {"limit": 1}},
        )

    state = ctx.run_dag(DAG_ID, extra_env=extra)
    if state != "success":
        raise DemoStepError(f"{DAG_ID} ended {state}")
    after = _counts(env_home.sql_alchemy_conn)
    s3 = ctx.aws.client("s3")
    manifests = s3.list_objects_v2(Bucket=BUCKET, Prefix="airflow-metadata/_manifests/").get("Contents", [])
    if len(manifests) != 1:
        raise DemoStepError(f"expected one manifest in s3://{BUCKET}, found {len(manifests)}")
    manifest = read_manifest(s3, BUCKET, manifests[0]["Key"])
    for obj in manifest.objects:
        ctx.say(f"  archived {obj.rows:>6} {obj.table:<14} s3://{BUCKET}/{obj.key} sha256 {obj.sha256[:12]}…")
    ctx.say(f"after cleanup (retention 90 days): {after}")
    if not after["dag_run"] < before["dag_run"] or after["dag"] < before["dag"]:
        raise DemoStepError("the cleanup did not delete old runs, or deleted DAG definitions")
    if manifest.rows_by_table().get("dag_run", 0) < before["dag_run"] - after["dag_run"]:
        raise DemoStepError("fewer runs archived than deleted")
