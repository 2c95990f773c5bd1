"""Archive exactly what Airflow 3's ``airflow db clean`` will delete, through the REST API.

``db clean --tables dag_run,task_instance,log`` (airflow/utils/db_cleanup.py, 3.3.1) deletes:

- ``dag_run`` rows whose ``start_date`` is before the cutoff (whatever their logical date, so
  runs without one too), except, per DAG, the run(s) whose ``start_date`` equals the latest
  ``start_date`` of the DAG's non-manual runs (``keep_last``);
- with each deleted run, through the database's ``ON DELETE CASCADE``, all its task instances
  (and their XComs, history, notes, rendered fields...);
- ``task_instance`` rows whose ``start_date`` is before the cutoff (also in kept runs);
- ``log`` rows whose ``dttm`` is before the cutoff.

:func:`plan_db_clean` finds the runs that will go; :meth:`DbCleanPlan.selections` makes the REST
export write exactly those rows; :meth:`DbCleanPlan.check_dry_run` compares the rows selected by
each table's own rule with ``db clean --dry-run``'s counts, so nothing is deleted when they
differ.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_mwaa_extras.metadata import formats
from airflow_mwaa_extras.metadata.manifest import ManifestVerificationError
from airflow_mwaa_extras.metadata.rest_export import (
    DEFAULT_PAGE_SIZE,
    Item,
    PageFetcher,
    RestExportError,
    RestSelection,
    before_params,
)

__all__ = ["DB_CLEAN_TABLES", "DbCleanPlan", "Run", "parse_dry_run", "plan_db_clean"]

DB_CLEAN_TABLES = ("dag_run", "task_instance", "log")
_FOUND = re.compile(r"Found (\d+) rows meeting deletion criteria")
_TABLE = re.compile(r"(?:dry run for table|for table) (\w+)")
Run = tuple[str, str]


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _pages(fetch: PageFetcher, path: str, key: str, params: dict[str, Any], size: int) -> Iterator[Item]:
    offset = 0
    while True:
        page = fetch(path, {**params, "limit": size, "offset": offset})
        if not isinstance(page, dict) or not isinstance(page.get(key), list):
            raise RestExportError(f"GET {path} did not answer a JSON object with {key!r}")
        items: list[Item] = page[key]
        yield from items
        offset += len(items)
        total = page.get("total_entries")
        if not items or (isinstance(total, int) and offset >= total):
            return


@dataclass
class DbCleanPlan:
    """The runs ``db clean`` will delete at ``cutoff``, and the rows the archive selected."""

    cutoff: datetime
    deleted_runs: set[Run]
    kept_runs: set[Run]
    # Rows that each table's own rule selects (what ``db clean --dry-run`` counts).
    rule_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DB_CLEAN_TABLES, 0))
    _seen_tis: set[Any] = field(default_factory=set)

    def selections(self) -> dict[str, RestSelection]:
        cut = formats.format_timestamp(self.cutoff)
        started_before = {**before_params("start_date", self.cutoff), "order_by": "id"}
        return {
            "dag_run": RestSelection([started_before], self._accept_run),
            # A task instance goes when it started before the cutoff, or with its run. Every
            # task instance of a deleted run became runnable (run_after) before the run started.
            "task_instance": RestSelection(
                [started_before, {**before_params("run_after", self.cutoff), "order_by": "id"}],
                self._accept_ti,
            ),
            "log": RestSelection([{"before": cut, "order_by": "event_log_id"}], self._accept_log),
        }

    def _accept_run(self, item: Item) -> bool:
        if (item.get("dag_id"), item.get("dag_run_id")) not in self.deleted_runs:
            return False
        self.rule_counts["dag_run"] += 1
        return True

    def _accept_ti(self, item: Item) -> bool:
        ident = item.get("id")
        if ident in self._seen_tis:
            return False
        started = _when(item.get("start_date"))
        by_rule = started is not None and started < self.cutoff
        if not by_rule and (item.get("dag_id"), item.get("dag_run_id")) not in self.deleted_runs:
            return False
        self._seen_tis.add(ident)
        self.rule_counts["task_instance"] += int(by_rule)
        return True

    def _accept_log(self, item: Item) -> bool:
        self.rule_counts["log"] += 1
        return True

    def check_dry_run(self, output: str) -> dict[str, int]:
        """Compare the archive with ``db clean --dry-run``'s counts; raise on any difference."""
        counts = parse_dry_run(output)
        wrong = [
            f"{table}: db clean would delete {counts.get(table)}, the archive holds {self.rule_counts[table]}"
            for table in DB_CLEAN_TABLES
            if counts.get(table) != self.rule_counts[table]
        ]
        if wrong:
            raise ManifestVerificationError(
                "the archive does not match db clean --dry-run, nothing deleted: " + "; ".join(wrong)
            )
        return counts


def parse_dry_run(output: str) -> dict[str, int]:
    """Rows per table from ``db clean --dry-run``'s output (``Found N rows meeting ...``)."""
    counts: dict[str, int] = {}
    table = None
    for line in output.splitlines():
        named = _TABLE.search(line)
        if named:
            table = named.group(1)
        found = _FOUND.search(line)
        if found and table is not None:
            counts[table] = int(found.group(1))
            table = None
    return counts


def plan_db_clean(fetch: PageFetcher, cutoff: datetime, *, page_size: int = DEFAULT_PAGE_SIZE) -> DbCleanPlan:
    """Find the runs ``db clean`` will delete: started before ``cutoff``, less each DAG's kept run.

    db clean keeps, per DAG, the run(s) whose ``start_date`` equals the latest ``start_date`` of
    the DAG's non-manual runs. That run is old only when no non-manual run started since the
    cutoff, so the latest old non-manual start is the one kept unless a newer one exists.
    """
    old: dict[str, list[tuple[str, datetime | None]]] = {}
    latest_old: dict[str, datetime] = {}
    params = {**before_params("start_date", cutoff), "order_by": "id"}
    for run in _pages(fetch, "/dags/~/dagRuns", "dag_runs", params, page_size):
        started = _when(run.get("start_date"))
        old.setdefault(run["dag_id"], []).append((run["dag_run_id"], started))
        if started is not None and run.get("run_type") != "manual":
            latest_old[run["dag_id"]] = max(started, latest_old.get(run["dag_id"], started))
    deleted: set[Run] = set()
    kept: set[Run] = set()
    for dag_id, runs in old.items():
        keep = latest_old.get(dag_id)
        if keep is not None and _non_manual_since(fetch, dag_id, cutoff, page_size):
            keep = None
        for run_id, started in runs:
            (kept if keep is not None and started == keep else deleted).add((dag_id, run_id))
    return DbCleanPlan(cutoff=cutoff, deleted_runs=deleted, kept_runs=kept)


def _non_manual_since(fetch: PageFetcher, dag_id: str, cutoff: datetime, page_size: int) -> bool:
    """Whether a non-manual run of ``dag_id`` started at or after ``cutoff``.

    ``/dags/{dag_id}/dagRuns`` answers 404 for a DAG whose file is gone (its runs stay in the
    database), so search all runs by ``dag_id_pattern`` (a LIKE match) and compare exactly.
    """
    params = {
        "dag_id_pattern": dag_id,
        "start_date_gte": formats.format_timestamp(cutoff),
        "order_by": "-start_date",
    }
    for run in _pages(fetch, "/dags/~/dagRuns", "dag_runs", params, page_size):
        if run.get("dag_id") == dag_id and run.get("run_type") != "manual":
            return True
    return False
