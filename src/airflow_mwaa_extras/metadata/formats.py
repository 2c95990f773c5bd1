"""One text form per value, identical from the PostgreSQL ``COPY`` path and the portable path.

- timestamps: ISO-8601 in UTC with microseconds, ``2024-05-01T12:00:00.000000Z``
- booleans: ``true`` / ``false``
- binary (pickled) columns: base64 of the raw bytes
- JSON columns: compact JSON text in CSV, nested JSON in JSON Lines
- NULL: an empty unquoted field in CSV, ``null`` in JSON Lines; an empty string is ``""``

CSV follows PostgreSQL's ``COPY ... CSV``: ``,`` separated, ``"`` quoted when a field holds a
comma, quote, CR or LF or is empty, ``\\n`` line ends, one header line.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

__all__ = [
    "FORMATS",
    "PG_TIMESTAMP_FORMAT",
    "TIMESTAMP_FORMAT",
    "check_format",
    "csv_field",
    "csv_line",
    "format_timestamp",
    "json_value",
    "jsonl_line",
    "text_value",
]

FORMATS = ("csv", "jsonl")
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# The same format in PostgreSQL's to_char.
PG_TIMESTAMP_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def format_timestamp(value: datetime) -> str:
    # Airflow stores UTC; SQLite hands back naive datetimes that are UTC.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def json_value(value: Any) -> Any:
    """A value as it appears in a JSON Lines record."""
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        # PostgreSQL prints 12.0 as 12 (in text and in JSON).
        return int(value)
    return value


def text_value(value: Any, is_json: bool) -> str | None:
    """A value as it appears in a CSV field (``None`` for NULL)."""
    if value is None:
        return None
    if is_json:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    if isinstance(value, bool):
        return "true" if value else "false"
    value = json_value(value)
    return value if isinstance(value, str) else str(value)


_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def csv_field(value: str | None) -> str:
    if value is None:
        return ""
    if not value or _NEEDS_QUOTES.search(value) or value == "\\.":
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_line(values: list[str | None]) -> str:
    return ",".join(csv_field(v) for v in values) + "\n"


def jsonl_line(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str) + "\n"


def check_format(fmt: str) -> str:
    from airflow_mwaa_extras.exceptions import UsageError

    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}")
    return fmt
