"""Comparing the archive with ``db clean --dry-run`` (the end-to-end check is in
tests/operators/test_metadata_cleanup_airflow3.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airflow_mwaa_extras.metadata.db_clean_archive import DbCleanPlan, parse_dry_run
from airflow_mwaa_extras.metadata.manifest import ManifestVerificationError
from airflow_mwaa_extras.metadata.rest_export import REST_TABLES, window_params

# What ``airflow db clean --dry-run --tables dag_run,task_instance,log`` prints on 3.3.1.
DRY_RUN = """
Performing dry run for table dag_run
Found 94 rows meeting deletion criteria.

Performing dry run for table log
Found 90 rows meeting deletion criteria.

Performing dry run for table task_instance
Found 191 rows meeting deletion criteria.

Performing dry run for table xcom
Found 9 rows meeting deletion criteria.
"""


def _plan(**counts: int) -> DbCleanPlan:
    plan = DbCleanPlan(cutoff=datetime(2026, 1, 1, tzinfo=UTC), deleted_runs=set(), kept_runs=set())
    plan.rule_counts.update(counts)
    return plan


def test_dry_run_counts_are_parsed_per_table() -> None:
    assert parse_dry_run(DRY_RUN) == {"dag_run": 94, "log": 90, "task_instance": 191, "xcom": 9}


def test_an_archive_that_agrees_with_the_dry_run_passes() -> None:
    assert _plan(dag_run=94, task_instance=191, log=90).check_dry_run(DRY_RUN)["dag_run"] == 94


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        (
            {"dag_run": 93, "task_instance": 191, "log": 90},
            "dag_run: db clean would delete 94, the archive holds 93",
        ),
        (
            {"dag_run": 94, "task_instance": 191, "log": 0},
            "log: db clean would delete 90, the archive holds 0",
        ),
    ],
    ids=["runs", "log"],
)
def test_a_difference_stops_the_cleanup(counts: dict[str, int], message: str) -> None:
    with pytest.raises(ManifestVerificationError, match=f"nothing deleted: {message}"):
        _plan(**counts).check_dry_run(DRY_RUN)


def test_an_unreadable_dry_run_stops_the_cleanup() -> None:
    with pytest.raises(ManifestVerificationError, match="db clean would delete None"):
        _plan(dag_run=1).check_dry_run("Error: something else entirely")


def test_every_rest_filter_is_one_airflow_3_0_knows() -> None:
    """Airflow 3.0's /api/v2 (MWAA 3.0.6) has only _gte/_lte date filters and ignores an unknown
    _lt, which then selects every row: the REST paths must send "before" as _lte - 1 µs."""
    cutoff = datetime(2026, 1, 1, tzinfo=UTC)
    plan = DbCleanPlan(cutoff=cutoff, deleted_runs=set(), kept_runs=set())
    scans = [scan for selection in plan.selections().values() for scan in selection.scans]
    scans += [window_params(table, "v2", cutoff, cutoff) for table in REST_TABLES]
    names = {name for scan in scans for name in scan}
    assert not {name for name in names if name.endswith(("_lt", "_gt"))}, names
    assert window_params("dag_run", "v2", None, cutoff)["logical_date_lte"] == "2025-12-31T23:59:59.999999Z"
    assert {"start_date_lte", "run_after_lte"} <= names
