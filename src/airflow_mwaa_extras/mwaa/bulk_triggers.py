"""Many DAG runs at once in one MWAA environment: a list of (DAG, conf, run id) items.

Each item goes through :meth:`~airflow_mwaa_extras.mwaa.dag_runs.RemoteDagRuns.trigger`, the one
retry-safe trigger path (look the run id up, trigger, and after a lost answer or a 409 look
again), so an item is exactly as safe as a single ``mwaa-extras trigger``. On top of it:

- every item has a run id before anything is sent: its own, or :func:`item_run_id`, derived from
  the item (DAG, conf, logical date, and which repeat of an identical item it is), so running the
  same file again finds the runs the first pass made and triggers nothing twice;
- the paused/exists check runs once per DAG, not once per item;
- over InvokeRestApi a few items are in flight at once, all paced by one client under MWAA's ~10
  requests a second (throttled answers are backed off and resent); over the CLI endpoint, one at
  a time;
- a failed item never stops the others; it is reported with its cause. Only a problem of the
  whole environment (access denied, no such environment, unreachable) stops the rest, which are
  reported as not tried.

Files (``mwaa-extras trigger ENV --from-file FILE``): a JSON array of objects, or JSON lines (one
object a line; blank lines are skipped). Each object has ``dag_id`` and optionally ``conf`` (an
object), ``run_id`` and ``logical_date`` (ISO 8601); any other key is an error. No Airflow import.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError
from airflow_mwaa_extras.mwaa import commands
from airflow_mwaa_extras.mwaa.airflow_command import check_name
from airflow_mwaa_extras.mwaa.dag_run_types import RemoteDagNotFoundError, RemoteDagRun
from airflow_mwaa_extras.mwaa.dag_runs import RemoteDagRuns, deterministic_run_id
from airflow_mwaa_extras.mwaa.errors import (
    MwaaAccessDeniedError,
    MwaaEnvironmentNotFoundError,
    MwaaError,
    MwaaUnreachableError,
)
from airflow_mwaa_extras.mwaa.rest_api import RestApiForbiddenError, RestApiUnavailableError

ITEM_KEYS = frozenset({"dag_id", "conf", "run_id", "logical_date"})
#: items in flight at once over InvokeRestApi (the client's pacing sets the rate)
REST_WORKERS = 6
# Problems of the environment, not of one item: the rest would fail the same way.
_STOPS = (
    MwaaAccessDeniedError,
    MwaaEnvironmentNotFoundError,
    MwaaUnreachableError,
    RestApiForbiddenError,
    RestApiUnavailableError,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TriggerItem:
    """One run to trigger.

    :param dag_id: the remote DAG
    :param run_id: its run id (given, or :func:`item_run_id`)
    :param conf: the run's conf
    :param logical_date: ISO logical date (None: now, UTC)
    :param where: where the item came from (``FILE:LINE``), for messages
    """

    dag_id: str
    run_id: str
    conf: dict[str, Any] = field(default_factory=dict)
    logical_date: str | None = None
    where: str = ""


def item_run_id(dag_id: str, conf: Mapping[str, Any], logical_date: str | None, repeat: int) -> str:
    """The run id of an item without one: ``mxb_`` + 13 hex digits of its DAG, conf (canonical
    JSON), logical date and ``repeat`` (0 for the first of identical items, 1 for the next...)."""
    canonical = json.dumps(conf, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return deterministic_run_id(dag_id, canonical, logical_date or "", repeat, prefix="mxb_")


def make_items(records: Iterable[tuple[str, Any]]) -> list[TriggerItem]:
    """Check ``(where, record)`` pairs and give each item its run id.

    :raises UsageError: a record that is not an item, or two items with one DAG and run id
    """
    items: list[TriggerItem] = []
    repeats: Counter[tuple[str, str, str]] = Counter()
    for where, record in records:
        if not isinstance(record, Mapping):
            raise UsageError(f"{where}: an item must be a JSON object, not {type(record).__name__}")
        unknown = sorted(set(record) - ITEM_KEYS)
        if unknown:
            raise UsageError(
                f"{where}: unknown key {unknown[0]!r} (an item has {', '.join(sorted(ITEM_KEYS))})"
            )
        try:
            dag_id = check_name(record.get("dag_id"), "dag_id")
            conf = json.loads(commands.conf_json(record.get("conf") or {}))
            logical = record.get("logical_date")
            if logical is not None:
                logical = check_name(logical, "logical_date")
            run_id = record.get("run_id")
            if run_id is None:
                key = (dag_id, json.dumps(conf, sort_keys=True), logical or "")
                run_id = item_run_id(dag_id, conf, logical, repeats[key])
                repeats[key] += 1
            run_id = check_name(run_id, "run_id")
        except commands.InvalidCommandArgumentError as err:
            raise UsageError(f"{where}: {err}") from None
        items.append(TriggerItem(dag_id, run_id, conf, logical, where))
    seen: dict[tuple[str, str], str] = {}
    for item in items:
        first = seen.setdefault((item.dag_id, item.run_id), item.where)
        if first != item.where:
            raise UsageError(
                f"{item.where}: run id {item.run_id!r} of {item.dag_id} is also at {first}; "
                "one run id names one run"
            )
    return items


def load_items(path: Path) -> list[TriggerItem]:
    """The items of a JSON-array or JSON-lines file (see the module docstring)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read {path}: {err}") from None
    stripped = text.strip()
    if not stripped:
        raise UsageError(f"{path} has no items")
    records: list[tuple[str, Any]] = []
    if stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as err:
            raise UsageError(f"{path} is not valid JSON: {err}") from None
        records = [(f"{path} item {n}", record) for n, record in enumerate(data, start=1)]
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((f"{path}:{number}", json.loads(line)))
            except json.JSONDecodeError as err:
                raise UsageError(
                    f"{path}:{number} is not a JSON object ({err.msg}); the file is JSON lines, one item a line"
                ) from None
    if not records:
        raise UsageError(f"{path} has no items")
    return make_items(records)


@dataclass(frozen=True)
class ItemResult:
    """What happened to one item: ``triggered``, ``already there``, ``failed`` or ``not tried``."""

    item: TriggerItem
    outcome: str
    run: RemoteDagRun | None = None
    error: str = ""


@dataclass
class BulkTriggerSummary:
    """Every item's result, in the items' order."""

    environment: str
    results: list[ItemResult]

    def count(self, outcome: str) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def ok(self) -> bool:
        return all(result.outcome in ("triggered", "already there") for result in self.results)

    def line(self) -> str:
        return (
            f"trigger into {self.environment}: {self.count('triggered')} triggered, "
            f"{self.count('already there')} already there, {self.count('failed')} failed, "
            f"{self.count('not tried')} not tried (of {len(self.results)})"
        )


def trigger_many(
    remote: RemoteDagRuns,
    items: Sequence[TriggerItem],
    *,
    allow_paused: bool = False,
    workers: int | None = None,
    report: Callable[[str], None] = log.info,
) -> BulkTriggerSummary:
    """Trigger every item in ``remote``'s environment; never raises for one item's failure.

    :param remote: the environment's :class:`RemoteDagRuns` (its transport and clients; give it
        a ``rest_client`` with the ``min_interval`` you want, e.g. ``1 / 9.5``)
    :param items: from :func:`load_items` or :func:`make_items`
    :param allow_paused: trigger paused DAGs too (their runs then wait)
    :param workers: items in flight at once (default: 6 over InvokeRestApi, 1 over the CLI endpoint)
    :param report: called with each per-item line
    """
    make_items((item.where or str(n), _record(item)) for n, item in enumerate(items, start=1))  # checks
    results: dict[int, ItemResult] = {}
    refused = _check_dags(remote, sorted({item.dag_id for item in items}), allow_paused, report)
    lock = threading.Lock()
    stop: list[MwaaExtrasError] = []
    queue = iter(enumerate(items))
    total = len(items)

    def one(index: int, item: TriggerItem) -> None:
        label = f"[{index + 1}/{total}] {item.dag_id} {item.run_id}"
        if item.dag_id in refused:
            result = ItemResult(item, "failed", error=refused[item.dag_id])
        else:
            try:
                run = remote.trigger(
                    item.dag_id,
                    run_id=item.run_id,
                    conf=item.conf,
                    logical_date=item.logical_date,
                    allow_paused=True,  # checked once per DAG above
                )
                result = ItemResult(item, "triggered" if run.created else "already there", run)
            except MwaaExtrasError as err:
                result = ItemResult(item, "failed", error=str(err))
                if isinstance(err, _STOPS):
                    with lock:
                        stop.append(err)
        with lock:
            results[index] = result
        report(f"{label}: {result.outcome}" + (f": {result.error}" if result.error else ""))

    def worker() -> None:
        while True:
            with lock:
                nxt = None if stop else next(queue, None)
            if nxt is None:
                return
            one(*nxt)

    count = workers or (REST_WORKERS if remote.transport == "rest_api" else 1)
    threads = [threading.Thread(target=worker, name=f"trigger-{n}") for n in range(max(1, count))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = [results.get(n) or ItemResult(item, "not tried") for n, item in enumerate(items)]
    return BulkTriggerSummary(remote.environment_name, ordered)


def _record(item: TriggerItem) -> dict[str, Any]:
    return {
        "dag_id": item.dag_id,
        "run_id": item.run_id,
        "conf": item.conf,
        "logical_date": item.logical_date,
    }


def _check_dags(
    remote: RemoteDagRuns, dag_ids: Sequence[str], allow_paused: bool, report: Callable[[str], None]
) -> dict[str, str]:
    """dag id -> why its items are refused (no such DAG, paused); one check per DAG."""
    refused: dict[str, str] = {}
    for dag_id in dag_ids:
        try:
            paused = remote.is_paused(dag_id)
        except RemoteDagNotFoundError as err:
            refused[dag_id] = str(err)
            continue
        except (MwaaAccessDeniedError, MwaaEnvironmentNotFoundError):
            raise
        except MwaaError as err:
            # as for one trigger: a check that cannot finish (a 504 on a big Airflow 2
            # environment, where `dags list` parses every file) does not block the runs
            report(f"could not check whether {dag_id} is paused ({err}); triggering anyway")
            continue
        if paused and not allow_paused:
            refused[dag_id] = (
                f"DAG {dag_id!r} is paused in {remote.environment_name}: a run would never start "
                "(unpause it, or pass --allow-paused)"
            )
    return refused
