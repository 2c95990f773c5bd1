"""Where connections and variables to migrate come from.

Either the local Airflow metadata DB (read through Airflow's ORM, so passwords and values are
decrypted with the local Fernet key), or the files ``airflow connections export`` and
``airflow variables export`` write: JSON, YAML, or ``.env`` (``conn_id=<uri or json>`` lines).

A record that cannot be read becomes a :class:`SourceItem` with an ``error`` (the migration
reports it and goes on); a file that cannot be read at all raises :class:`UsageError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.secrets.uri import (
    ConnectionParts,
    ConnectionSecretError,
    connection_parts,
    parts_from_secret_text,
)

__all__ = [
    "FILE_SUFFIXES",
    "SourceConnection",
    "SourceVariable",
    "connections_from_db",
    "connections_from_file",
    "load_sources",
    "variables_from_db",
    "variables_from_file",
]

FILE_SUFFIXES = (".json", ".yaml", ".yml", ".env")


@dataclass(frozen=True)
class SourceConnection:
    """A connection read from a source, or the reason it could not be read."""

    conn_id: str
    parts: ConnectionParts | None
    error: str | None = None


@dataclass(frozen=True)
class SourceVariable:
    """A variable read from a source. ``repr`` never shows the value."""

    key: str
    value: str | None = field(repr=False)
    error: str | None = None


# --- files ---------------------------------------------------------------------------------


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FILE_SUFFIXES:
        raise UsageError(
            f"{path}: unknown file type {suffix or '(none)'}; expected {', '.join(FILE_SUFFIXES)}"
        )
    return suffix


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"{path}: cannot read ({type(err).__name__})") from None


def _load_mapping(path: Path) -> dict[str, Any]:
    suffix = _suffix(path)
    text = _read_text(path)
    if suffix == ".env":
        return _parse_env(path, text)
    if not text.strip():
        # An export of nothing is "{}"; an empty file is a failed export or the wrong file.
        raise UsageError(f"{path}: the file is empty (an export with no entries is {{}})")
    try:
        if suffix == ".json":
            data = json.loads(text)
        else:
            import yaml  # type: ignore[import-untyped,unused-ignore]

            data = yaml.safe_load(text) or {}
    except Exception as err:  # json.JSONDecodeError, yaml.YAMLError
        line = getattr(err, "lineno", None) or getattr(getattr(err, "problem_mark", None), "line", None)
        where = f" near line {line}" if line else ""
        raise UsageError(f"{path}: not valid {suffix[1:].upper()}{where}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping of names to values at the top level")
    return {str(key): value for key, value in data.items()}


def _parse_env(path: Path, text: str) -> dict[str, Any]:
    # The format Airflow's local filesystem backend reads: KEY=VALUE, '#' comments, blank lines.
    result: dict[str, Any] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = raw.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{path}:{number}: expected NAME=VALUE")
        key = key.strip()
        if key in result:
            raise UsageError(f"{path}:{number}: {key!r} appears more than once")
        result[key] = value
    return result


def connections_from_file(path: str | Path) -> list[SourceConnection]:
    """Connections from a file written by ``airflow connections export``."""
    path = Path(path)
    results = []
    for conn_id, value in _load_mapping(path).items():
        try:
            if isinstance(value, str):
                parts = parts_from_secret_text(conn_id, value)
            else:
                parts = connection_parts(conn_id, value)
        except ConnectionSecretError as err:
            results.append(SourceConnection(conn_id, None, str(err)))
            continue
        results.append(SourceConnection(conn_id, parts))
    return results


def _variable_value(key: str, value: Any) -> str:
    # `airflow variables export` writes JSON-decodable values decoded, and on Airflow 3 a
    # variable with a description as {"value": ..., "description": ...}; `variables import`
    # stores non-strings JSON-encoded. Do the same so the secret holds what Airflow would.
    if isinstance(value, dict) and set(value) == {"value", "description"}:
        value = value["value"]
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def variables_from_file(path: str | Path) -> list[SourceVariable]:
    """Variables from a file written by ``airflow variables export`` (or ``.env``/YAML)."""
    path = Path(path)
    return [SourceVariable(key, _variable_value(key, value)) for key, value in _load_mapping(path).items()]


# --- the local metadata DB -----------------------------------------------------------------


def connections_from_db() -> list[SourceConnection]:
    """Every connection in the metadata DB of the Airflow home this process is configured for."""
    from airflow_mwaa_extras.version_compat import require_airflow

    require_airflow()
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    results = []
    with create_session() as session:
        for conn in session.scalars(select(Connection).order_by(Connection.conn_id)):
            conn_id = str(conn.conn_id)
            try:
                values = {
                    "conn_type": conn.conn_type,
                    "host": conn.host,
                    "login": conn.login,
                    "password": conn.password,
                    "schema": conn.schema,
                    "port": conn.port,
                    "extra": conn.extra,
                    "description": conn.description,
                }
                results.append(SourceConnection(conn_id, connection_parts(conn_id, values)))
            except ConnectionSecretError as err:
                results.append(SourceConnection(conn_id, None, str(err)))
            except Exception as err:  # e.g. InvalidFernetToken when the key changed
                results.append(
                    SourceConnection(
                        conn_id, None, f"connection {conn_id!r}: cannot decrypt ({type(err).__name__})"
                    )
                )
    return results


def variables_from_db() -> list[SourceVariable]:
    """Every variable in the metadata DB of the Airflow home this process is configured for."""
    from airflow_mwaa_extras.version_compat import require_airflow

    require_airflow()
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import select

    results = []
    with create_session() as session:
        for var in session.scalars(select(Variable).order_by(Variable.key)):
            key = str(var.key)
            try:
                value = var.val
            except Exception as err:
                results.append(
                    SourceVariable(key, None, f"variable {key!r}: cannot decrypt ({type(err).__name__})")
                )
                continue
            results.append(SourceVariable(key, "" if value is None else str(value)))
    return results


def load_sources(
    *,
    from_db: bool,
    connections_file: str | Path | None = None,
    variables_file: str | Path | None = None,
    connections: bool = True,
    variables: bool = True,
) -> tuple[list[SourceConnection], list[SourceVariable]]:
    """Read what the user asked for: files when given, else the metadata DB when ``from_db``."""
    conns: list[SourceConnection] = []
    varis: list[SourceVariable] = []
    if connections:
        if connections_file is not None:
            conns = connections_from_file(connections_file)
        elif from_db:
            conns = connections_from_db()
    if variables:
        if variables_file is not None:
            varis = variables_from_file(variables_file)
        elif from_db:
            varis = variables_from_db()
    return conns, varis
