"""Stream the rows of one metadata table into a binary sink, as CSV or JSON Lines.

Two paths give the same text (see :mod:`airflow_mwaa_extras.metadata.formats`):

- ``copy``: PostgreSQL's own bulk path, ``COPY (SELECT ...) TO STDOUT``; the server formats
  every value, Python only moves bytes. This is what MWAA's metadata DB (PostgreSQL) uses.
- ``portable``: a SQLAlchemy server-side cursor (``stream_results``) read in batches, for
  SQLite and any other database.

Either way memory holds one batch (or one ``COPY`` row), never the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.metadata import formats

if TYPE_CHECKING:
    from sqlalchemy import Column, Select, Table
    from sqlalchemy.engine import Connection
    from sqlalchemy.sql.elements import ColumnElement

    from airflow_mwaa_extras.metadata.tables import MetadataSchema, TableSpec

__all__ = [
    "FETCH_SIZE",
    "METHODS",
    "BinarySink",
    "Condition",
    "build_select",
    "copy_select_sql",
    "resolve_method",
    "stream_rows",
]

METHODS = ("auto", "copy", "portable")
# Rows per batch: 1,000 task instances with their strings are a few MB; 5,000 went over budget.
FETCH_SIZE = 1000


class BinarySink(Protocol):
    def write(self, data: bytes) -> int: ...


# Builds the WHERE clause of one statement from (table, dag_run table or None).
Condition = Callable[["Table", "Table | None"], "ColumnElement[bool]"]


def resolve_method(method: str, conn: Connection) -> str:
    if method not in METHODS:
        raise UsageError(f"unknown read method {method!r}; use one of: {', '.join(METHODS)}")
    is_pg = conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg2"
    if method == "copy" and not is_pg:
        raise UsageError(f"method 'copy' needs PostgreSQL with psycopg2, not {conn.dialect.name}")
    if method == "auto":
        return "copy" if is_pg else "portable"
    return method


def build_select(
    schema: MetadataSchema, spec: TableSpec, condition: Condition, columns: Sequence[Any] | None = None
) -> Select[Any]:
    """``SELECT <columns> FROM <table> [JOIN dag_run] WHERE <condition> ORDER BY <order>``."""
    from sqlalchemy import and_, select

    table = schema.table(spec.name)
    cols = list(columns) if columns is not None else list(table.c)
    if spec.via_dag_run:
        dag_run = schema.table("dag_run")
        source = table.join(
            dag_run, and_(table.c.dag_id == dag_run.c.dag_id, table.c.run_id == dag_run.c.run_id)
        )
        stmt = select(*cols).select_from(source).where(condition(table, dag_run))
    else:
        stmt = select(*cols).select_from(table).where(condition(table, None))
    return stmt.order_by(*[table.c[name] for name in spec.order_by])


def stream_rows(
    conn: Connection,
    schema: MetadataSchema,
    spec: TableSpec,
    conditions: Iterable[Condition],
    fmt: str,
    sink: BinarySink,
    *,
    method: str = "auto",
) -> int:
    """Write the rows matching each condition (in order, one header) to ``sink``; return the count."""
    formats.check_format(fmt)
    how = resolve_method(method, conn)
    table = schema.table(spec.name)
    if fmt == "csv":
        sink.write(formats.csv_line([c.name for c in table.c]).encode())
    total = 0
    for condition in conditions:
        if how == "copy":
            total += _copy_rows(conn, copy_select_sql(conn, schema, spec, condition, fmt), fmt, sink)
        else:
            total += _portable_rows(conn, table, build_select(schema, spec, condition), fmt, sink)
    return total


# --- PostgreSQL COPY -----------------------------------------------------------------------


def _pg_expression(column: Column[Any], fmt: str) -> Any:
    """The column as the server should print it (see the formats module)."""
    from sqlalchemy import Boolean, DateTime, LargeBinary, func, literal_column, types

    type_ = column.type
    if isinstance(type_, DateTime):
        return func.to_char(column, literal_column(f"'{formats.PG_TIMESTAMP_FORMAT}'")).label(column.name)
    if isinstance(type_, LargeBinary):
        return func.translate(func.encode(column, "base64"), literal_column("E'\\n'"), "").label(column.name)
    if isinstance(type_, Boolean) and fmt == "csv":
        return column.cast(types.Text).label(column.name)
    return column


def copy_select_sql(
    conn: Connection, schema: MetadataSchema, spec: TableSpec, condition: Condition, fmt: str
) -> str:
    """The SELECT that ``COPY`` runs for ``spec``'s rows, with every value in the export's text form."""
    table = schema.table(spec.name)
    stmt = build_select(schema, spec, condition, [_pg_expression(c, fmt) for c in table.c])
    compiled = stmt.compile(dialect=conn.dialect)
    with conn.connection.cursor() as cur:
        return str(cur.mogrify(str(compiled), compiled.params).decode())


def _copy_rows(conn: Connection, query: str, fmt: str, sink: BinarySink) -> int:
    with conn.connection.cursor() as cur:
        # to_char prints timestamptz in the session's zone: UTC, for this transaction only.
        cur.execute("SET LOCAL TIME ZONE 'UTC'")
        if conn.connection.dbapi_connection.server_version >= 110000:
            # A plain scan gains nothing from JIT, and above a million rows its compile step made
            # the export cost more per row than at 200,000 (bench_metadata.py --scale).
            cur.execute("SET LOCAL jit = off")
        if fmt == "csv":
            copy = f"COPY ({query}) TO STDOUT WITH (FORMAT csv)"
        else:
            # row_to_json escapes every control character, so with a quote and a delimiter that
            # cannot occur the CSV format prints each JSON document verbatim, one per line.
            copy = (
                f"COPY (SELECT row_to_json(r) FROM ({query}) AS r) TO STDOUT "
                "WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
            )
        cur.copy_expert(copy, sink)
        return int(cur.rowcount)


# --- portable ------------------------------------------------------------------------------


def _portable_rows(conn: Connection, table: Table, stmt: Select[Any], fmt: str, sink: BinarySink) -> int:
    from sqlalchemy import JSON

    names = [c.name for c in table.c]
    is_json = [isinstance(c.type, JSON) for c in table.c]
    result = conn.execution_options(stream_results=True).execute(stmt)
    count = 0
    while True:
        rows = result.fetchmany(FETCH_SIZE)
        if not rows:
            break
        count += len(rows)
        if fmt == "csv":
            lines = [
                formats.csv_line([formats.text_value(v, j) for v, j in zip(row, is_json, strict=True)])
                for row in rows
            ]
        else:
            lines = [
                formats.jsonl_line({n: formats.json_value(v) for n, v in zip(names, row, strict=True)})
                for row in rows
            ]
        sink.write("".join(lines).encode("utf-8"))
    result.close()
    return count
