"""Which metadata tables exist and which column dates their rows, per Airflow version.

The schema is read from the database itself (no Airflow import), so the same code serves
operators, the ``mwaa-extras`` CLI and the benchmark. Airflow 3 renamed ``execution_date`` to
``logical_date`` and dropped ``task_fail`` and ``sla_miss``; the specs below cover both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_mwaa_extras.exceptions import UsageError

if TYPE_CHECKING:
    from sqlalchemy import MetaData, Table
    from sqlalchemy.engine import Connection, Engine

__all__ = ["DEFAULT_EXPORT_TABLES", "MetadataSchema", "TableSpec", "reflect_schema"]

DEFAULT_EXPORT_TABLES = ("dag_run", "task_instance", "task_fail", "log")


@dataclass(frozen=True)
class TableSpec:
    """How to select a table's rows by time.

    :param name: the table name.
    :param time_column: the column compared with the time window (on ``dag_run`` when
        ``via_dag_run``).
    :param via_dag_run: rows belong to a DAG run (``dag_id``, ``run_id``) and are dated by it,
        so a window exports runs together with their task instances.
    :param order_by: columns that give a stable order.
    """

    name: str
    time_column: str
    via_dag_run: bool
    order_by: tuple[str, ...]


@dataclass(frozen=True)
class MetadataSchema:
    """The reflected metadata tables of one database."""

    metadata: MetaData
    dialect: str

    @property
    def airflow_3(self) -> bool:
        return "logical_date" in self.table("dag_run").c

    @property
    def run_date_column(self) -> str:
        """``execution_date`` on Airflow 2, ``logical_date`` on Airflow 3."""
        return "logical_date" if self.airflow_3 else "execution_date"

    def has_table(self, name: str) -> bool:
        return name in self.metadata.tables

    def table(self, name: str) -> Table:
        try:
            return self.metadata.tables[name]
        except KeyError:
            raise UsageError(f"table {name!r} does not exist in this Airflow metadata database") from None

    def spec(self, name: str) -> TableSpec:
        """The :class:`TableSpec` of a supported table; a clear error for any other."""
        run_date = self.run_date_column
        specs = {
            "dag_run": TableSpec("dag_run", run_date, via_dag_run=False, order_by=("id",)),
            "task_instance": TableSpec(
                "task_instance",
                run_date,
                via_dag_run=True,
                order_by=("dag_id", "run_id", "task_id", "map_index"),
            ),
            "task_fail": TableSpec("task_fail", run_date, via_dag_run=True, order_by=("id",)),
            "task_reschedule": TableSpec("task_reschedule", run_date, via_dag_run=True, order_by=("id",)),
            "xcom": TableSpec(
                "xcom", run_date, via_dag_run=True, order_by=("dag_run_id", "task_id", "map_index", "key")
            ),
            "log": TableSpec("log", "dttm", via_dag_run=False, order_by=("id",)),
            "job": TableSpec("job", "latest_heartbeat", via_dag_run=False, order_by=("id",)),
            "import_error": TableSpec("import_error", "timestamp", via_dag_run=False, order_by=("id",)),
        }
        if name not in specs:
            raise UsageError(f"unsupported table {name!r}; supported: {', '.join(sorted(specs))}")
        self.table(name)
        return specs[name]

    def export_specs(self, names: tuple[str, ...] | list[str] | None = None) -> list[TableSpec]:
        """Specs of ``names``; by default the default tables that exist in this version."""
        if names is None:
            return [self.spec(n) for n in DEFAULT_EXPORT_TABLES if self.has_table(n)]
        if not names:
            raise UsageError("no tables given")
        return [self.spec(n) for n in names]


def reflect_schema(bind: Engine | Connection) -> MetadataSchema:
    """Reflect the tables this package reads or deletes from."""
    from sqlalchemy import MetaData, inspect

    existing = set(inspect(bind).get_table_names())
    if "dag_run" not in existing:
        raise UsageError("the database has no dag_run table: is it an Airflow metadata database?")
    wanted = [
        t
        for t in (
            "dag_run",
            "task_instance",
            "task_fail",
            "task_reschedule",
            "xcom",
            "log",
            "job",
            "import_error",
            "dag",
            "dag_tag",
        )
        if t in existing
    ]
    metadata = MetaData()
    metadata.reflect(bind=bind, only=wanted)
    return MetadataSchema(metadata=metadata, dialect=bind.dialect.name)
