"""Delete old metadata safely: archive to S3, verify the archive, then delete in batches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.operators._metadata_s3 import MetadataToS3BaseOperator

if TYPE_CHECKING:
    from airflow_mwaa_extras.version_compat import Context

__all__ = ["MetadataCleanupOperator"]


class MetadataCleanupOperator(MetadataToS3BaseOperator):
    """Archive metadata rows older than ``retention_days`` to S3, verify, then delete them.

    Airflow 2: runs, their task instances (and failures, reschedules, XComs) and audit-log rows
    are read and deleted here, in batches of ``batch_size`` runs, each its own transaction;
    running and queued runs, the last ``keep_last_runs`` runs per DAG and DAG definitions
    (``dag``, ``dag_tag``) are never deleted. Airflow 3: the rows are archived through the REST
    API, then ``airflow db clean`` runs in the environment through the CLI endpoint (core's rules
    apply there: see docs/metadata.md). The return value (XCom) is a summary with per-table
    counts and the manifest key.

    :param retention_days: keep rows newer than this many days (required; templated).
    :param bucket: the S3 bucket for the archive (templated); required unless ``archive=False``.
    :param keep_last_runs: runs kept per DAG, however old (Airflow 2; Airflow 3 keeps core's one).
    :param batch_size: runs per delete transaction.
    :param dry_run: only count what would be deleted, per table.
    :param archive: archive before deleting (default); ``False`` deletes without a copy.

    The archive settings (``fmt``, ``gzip``, ``key_template``, ``manifest_key_template``,
    ``environment_name``, ``aws_conn_id``, ``region_name``) are
    :class:`~airflow_mwaa_extras.operators._metadata_s3.MetadataToS3BaseOperator`'s.
    """

    template_fields: Sequence[str] = ("retention_days", "bucket", *MetadataToS3BaseOperator.template_fields)

    def __init__(
        self,
        *,
        retention_days: int,
        bucket: str | None = None,
        keep_last_runs: int = 1,
        batch_size: int = 1000,
        dry_run: bool = False,
        archive: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.retention_days = retention_days
        self.bucket = bucket
        self.keep_last_runs = keep_last_runs
        self.batch_size = batch_size
        # BaseOperator has a dry_run() method: keep the flag under another name.
        self.count_only = dry_run
        self.archive = archive

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mwaa_extras.metadata.cleanup import CleanupPolicy

        try:
            retention = int(self.retention_days)
        except (TypeError, ValueError):
            raise UsageError(
                f"retention_days must be a whole number of days, got {self.retention_days!r}"
            ) from None
        policy = CleanupPolicy(
            retention_days=retention, keep_last_runs=self.keep_last_runs, batch_size=self.batch_size
        )
        policy.validated()
        settings = None
        if self.archive and not self.count_only:
            if not self.bucket:
                raise UsageError(
                    "archive=True needs a bucket (or pass archive=False to delete without a copy)"
                )
            settings = self.export_settings(self.bucket, context)
        earlier = self.report_earlier_attempts(settings, context) if settings is not None else []
        if self.hook.uses_database:
            summary = self._clean_database(policy, settings)
        else:
            summary = self._clean_through_environment(policy, settings)
        return {**summary, "earlier_manifests": earlier}

    def _clean_database(self, policy: Any, settings: Any) -> dict[str, Any]:
        from airflow_mwaa_extras.metadata.cleanup import run_cleanup

        report = run_cleanup(
            self.hook.engine,
            policy,
            s3_client=self.hook.s3_client if settings else None,
            archive=settings,
            dry_run=self.count_only,
        )
        self.log.info(
            "%s (%d batches, longest %.2f s)", report.summary(), report.batches, report.longest_batch_seconds
        )
        return {
            "cutoff": report.cutoff.isoformat(),
            "dry_run": report.dry_run,
            "counts": report.counts,
            "deleted": report.deleted,
            "manifest_key": report.manifest_key,
        }

    def _clean_through_environment(self, policy: Any, settings: Any) -> dict[str, Any]:
        from airflow_mwaa_extras.metadata.db_clean_archive import DB_CLEAN_TABLES, plan_db_clean
        from airflow_mwaa_extras.metadata.manifest import utc_now, verify_manifest
        from airflow_mwaa_extras.metadata.rest_export import export_via_rest
        from airflow_mwaa_extras.mwaa import commands

        if policy.keep_last_runs != 1:
            raise UsageError(
                "on Airflow 3 db clean keeps exactly the last run per DAG: leave keep_last_runs at 1"
            )
        cutoff = utc_now() - timedelta(days=policy.retention_days)
        fetch = self.hook.rest_fetcher()
        self._refuse_old_active_runs(fetch, cutoff)
        client = self.hook.environment_client()

        def db_clean(dry_run: bool) -> str:
            command = commands.db_clean(
                cutoff,
                tables=list(DB_CLEAN_TABLES),
                dry_run=dry_run,
                skip_archive=True,
            )
            return client.run(command).stdout

        manifest_key = None
        if settings is not None:
            # Select by db clean's own rules, archive, verify in S3, then compare with what
            # db clean itself says it will delete: any difference and nothing is deleted.
            plan = plan_db_clean(fetch, cutoff)
            exported = export_via_rest(
                fetch,
                self.hook.s3_client,
                settings,
                api_version="v2",
                tables=list(DB_CLEAN_TABLES),
                older_than=cutoff,
                selections=plan.selections(),
            )
            verify_manifest(
                self.hook.s3_client,
                exported.manifest_key,
                exported.manifest,
                exported.manifest.rows_by_table(),
            )
            manifest_key = exported.manifest_key
            self.log.info(
                "Archived %s to s3://%s/%s", exported.manifest.rows_by_table(), settings.bucket, manifest_key
            )
            counts = plan.check_dry_run(db_clean(dry_run=True))
            self.log.info("db clean --dry-run agrees with the archive: %s", counts)
        if self.count_only:
            self.log.info("Dry run: db clean reports what it would delete")
        output = db_clean(dry_run=self.count_only)
        self.log.info("db clean in %s:\n%s", self.hook.environment_name, output[-4000:])
        return {
            "cutoff": cutoff.isoformat(),
            "dry_run": self.count_only,
            "manifest_key": manifest_key,
            "db_clean_output": output[-2000:],
        }

    def _refuse_old_active_runs(self, fetch: Any, cutoff: Any) -> None:
        """core's db clean deletes by start date whatever the state: refuse while old runs are active."""
        from airflow_mwaa_extras.metadata.rest_export import before_params

        stuck = []
        for state in ("running", "queued"):
            page = fetch(
                "/dags/~/dagRuns", {"state": state, **before_params("start_date", cutoff), "limit": 5}
            )
            stuck += [f"{r.get('dag_id')}/{r.get('dag_run_id')}" for r in page.get("dag_runs", [])]
        if stuck:
            raise UsageError(
                f"runs started before the cutoff are still running or queued ({', '.join(stuck[:5])}); "
                "finish or fail them first: db clean would delete them"
            )
