"""The columns the metadata REST export carries, per API version and table, and how a cell is written.

The REST API does not expose every database column; these are the fields each version returns
(the docs list them). Kept apart from the paging and upload code: it is data, not logic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow_mwaa_extras.metadata import formats

__all__ = ["JSON_FIELDS", "REST_COLUMNS", "TIMESTAMPS", "rest_line"]


def _names(text: str) -> tuple[str, ...]:
    """Column names in the order the export writes them, from one space-separated text."""
    return tuple(text.split())


_TI_COMMON = _names(
    "dag_id dag_run_id task_id map_index start_date end_date duration state try_number "
    "max_tries hostname unixname pool pool_slots queue priority_weight operator queued_when "
    "pid executor rendered_map_index note"
)
_LOG_COMMON = ("event_log_id", "when", "dag_id", "task_id", "run_id", "map_index", "try_number", "event")
REST_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    # Every field Airflow 3.3's /api/v2 returns (older 3.x releases leave the newer ones empty).
    "v2": {
        "dag_run": _names(
            "dag_id dag_run_id logical_date run_after queued_at start_date end_date duration state "
            "run_type triggered_by triggering_user_name conf data_interval_start data_interval_end "
            "last_scheduling_decision note dag_versions bundle_version dag_display_name partition_key "
            "partition_date"
        ),
        "task_instance": _names(
            "id dag_id dag_run_id task_id map_index logical_date run_after start_date end_date "
            "duration state try_number max_tries task_display_name dag_display_name hostname unixname "
            "pool pool_slots queue priority_weight operator operator_name queued_when scheduled_when "
            "pid executor executor_config note rendered_map_index rendered_fields trigger "
            "triggerer_job dag_version"
        ),
        "log": (*_LOG_COMMON, "logical_date", "owner", "extra", "dag_display_name", "task_display_name"),
    },
    "v1": {
        "dag_run": _names(
            "dag_id dag_run_id execution_date start_date end_date state run_type external_trigger "
            "conf data_interval_start data_interval_end last_scheduling_decision note"
        ),
        "task_instance": ("execution_date", *_TI_COMMON),
        "log": (*_LOG_COMMON, "execution_date", "owner", "extra"),
    },
}
TIMESTAMPS = frozenset(
    _names(
        "logical_date execution_date run_after queued_at start_date end_date data_interval_start "
        "data_interval_end last_scheduling_decision queued_when scheduled_when partition_date when"
    )
)
JSON_FIELDS = frozenset(
    {"conf", "dag_versions", "rendered_fields", "trigger", "triggerer_job", "dag_version"}
)


def _cell(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in TIMESTAMPS and isinstance(value, str):
        return formats.format_timestamp(datetime.fromisoformat(value.replace("Z", "+00:00")))
    return value


def rest_line(fmt: str, columns: tuple[str, ...], item: dict[str, Any]) -> str:
    """One REST item as a CSV or JSON-lines line with ``columns`` in order."""
    if fmt == "csv":
        return formats.csv_line(
            [formats.text_value(_cell(c, item.get(c)), c in JSON_FIELDS) for c in columns]
        )
    return formats.jsonl_line({c: _cell(c, item.get(c)) for c in columns})
