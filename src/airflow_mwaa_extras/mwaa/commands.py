"""Typed builders of the Airflow CLI commands users send to MWAA.

Every builder returns an :class:`~airflow_mwaa_extras.mwaa.airflow_command.AirflowCommand` whose
``argv`` is the exact argument vector the remote ``airflow`` receives, quoted so the remote
side's shell-style split gives back the same ``argv`` and no argument can become a second
command. Option values are written as ``--option=value`` and user-supplied positionals follow
``--``, so a value starting with ``-`` is never read as an option.

The builders whose command differs between Airflow versions take the target
``airflow_version`` (``"2.10.3"``, ``"3.3.1"``) and emit that version's dialect
(:func:`dags_trigger`: ``--exec-date`` on 2.x, ``--logical-date`` on 3.x, ``--output`` from 2.7;
:func:`dags_list_runs`: ``-d DAG`` on 2.x, a positional on 3.x); the others are the same on
every version and take none. Whether MWAA runs a command for a version is checked by
:func:`~airflow_mwaa_extras.mwaa.supported_commands.check_supported` (the client calls it before
any token is requested).

Each command also says whether it changes something (``mutating``: the client never resends a
mutating command that may have reached Airflow) and what it prints on success (``expect``: a
JSON document, or a line such as ``Variable k created``), because MWAA's answer has no exit code
(:func:`~airflow_mwaa_extras.mwaa.cli_output.output_failed`).

Neighbours: :mod:`~airflow_mwaa_extras.mwaa.airflow_command` (the command type and argument
checks), :mod:`~airflow_mwaa_extras.mwaa.supported_commands` (the table MWAA accepts),
:mod:`~airflow_mwaa_extras.mwaa.cli_output` (judging the answer). The names the docs use as
``commands.X`` are re-exported here. Fifteen builders with their parameter docs make it a
little over 350 lines; they stay together so one file shows every command a user can build.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from airflow_mwaa_extras.mwaa.airflow_command import (
    AirflowCommand,
    check_name,
    check_text,
    command_name,
    conf_json,
    date_text,
    split_command_line,
    variable_value_text,
)
from airflow_mwaa_extras.mwaa.cli_output import output_failed
from airflow_mwaa_extras.mwaa.errors import InvalidCommandArgumentError
from airflow_mwaa_extras.mwaa.supported_commands import (
    READ_ONLY_COMMANDS,
    check_supported,
    is_airflow_3,
    parse_airflow_version,
)

__all__ = [
    # the builders
    "connections_add",
    "connections_delete",
    "dags_list",
    "dags_list_runs",
    "dags_pause",
    "dags_state",
    "dags_trigger",
    "dags_unpause",
    "db_clean",
    "raw",
    "tasks_states_for_dag_run",
    "variables_delete",
    "variables_get",
    "variables_list",
    "variables_set",
    # what the docs name as ``commands.X`` (they live in the modules imported above)
    "READ_ONLY_COMMANDS",
    "AirflowCommand",
    "InvalidCommandArgumentError",
    "check_supported",
    "conf_json",
    "output_failed",
    "variable_value_text",
]


def dags_trigger(
    dag_id: str,
    *,
    airflow_version: str,
    conf: Mapping[str, Any] | str | None = None,
    run_id: str | None = None,
    logical_date: datetime | str | None = None,
    keep_microseconds: bool = True,
) -> AirflowCommand:
    """``dags trigger``: ``--conf`` as JSON, ``--run-id``, and the logical date in the version's dialect.

    :param dag_id: the DAG to trigger
    :param airflow_version: the target environment's Airflow version
    :param conf: a mapping or a JSON object text
    :param run_id: the run id to use (Airflow generates one when omitted)
    :param logical_date: ``--exec-date`` on Airflow 2, ``--logical-date`` on Airflow 3
    :param keep_microseconds: send ``--no-replace-microseconds`` (the default). Airflow's CLI
        zeroes the logical date's microseconds otherwise, and on Airflow 2 a DAG's logical dates
        are unique, so two triggers of one DAG in the same second would collide
        (``DagRunAlreadyExists``) and the second run would be lost.
    """
    argv = ["dags", "trigger"]
    json_out = parse_airflow_version(airflow_version) >= (2, 7, 0)  # `--output` arrived in 2.7
    if json_out:
        argv.append("--output=json")
    if keep_microseconds:
        argv.append("--no-replace-microseconds")
    if conf is not None:
        argv.append(f"--conf={conf_json(conf)}")
    if run_id is not None:
        argv.append(f"--run-id={check_name(run_id, 'run id')}")
    if logical_date is not None:
        flag = "--logical-date" if is_airflow_3(airflow_version) else "--exec-date"
        argv.append(f"{flag}={date_text(logical_date, 'logical date')}")
    argv += ["--", check_name(dag_id, "DAG id")]
    # Success prints the run: as JSON, or `Created <DagRun ...>` before `--output` existed.
    return AirflowCommand(tuple(argv), expect="json" if json_out else "Created <DagRun")


def dags_state(dag_id: str, logical_date_or_run_id: datetime | str) -> AirflowCommand:
    """``dags state``: Airflow 2 takes the logical (execution) date, Airflow 3 also a run id.

    :param dag_id: the DAG
    :param logical_date_or_run_id: the run's logical date (or, on Airflow 3, its run id)
    """
    when = date_text(logical_date_or_run_id, "logical date or run id")
    return AirflowCommand(("dags", "state", "--", check_name(dag_id, "DAG id"), when), mutating=False)


def dags_list_runs(
    dag_id: str, *, airflow_version: str, state: str | None = None, output: str = "json"
) -> AirflowCommand:
    """``dags list-runs``: ``-d DAG`` on Airflow 2, a positional DAG id on Airflow 3.

    :param dag_id: the DAG
    :param airflow_version: the target environment's Airflow version
    :param state: only runs in this state (``queued``, ``running``, ``success``, ``failed``)
    :param output: ``json`` (default, machine-readable), ``yaml``, ``plain`` or ``table``
    """
    argv = ["dags", "list-runs", f"--output={check_name(output, 'output')}"]
    if state is not None:
        argv.append(f"--state={check_name(state, 'state')}")
    if is_airflow_3(airflow_version):
        argv += ["--", check_name(dag_id, "DAG id")]
    else:
        argv.append(f"--dag-id={check_name(dag_id, 'DAG id')}")
    return AirflowCommand(tuple(argv), mutating=False, expect="json" if output == "json" else "")


def dags_list() -> AirflowCommand:
    """``dags list --output=json``: judged by its JSON, so an unrelated broken DAG file (Airflow
    2.10 prints ``Error: Failed to load all files`` and exits 0) does not fail it. Airflow 3 reads
    the DAGs from the metadata DB; Airflow 2 parses every DAG file (slow on big environments)."""
    return AirflowCommand(("dags", "list", "--output=json"), mutating=False, expect="json")


def dags_pause(dag_id: str) -> AirflowCommand:
    """``dags pause DAG``."""
    return AirflowCommand(("dags", "pause", "--", check_name(dag_id, "DAG id")))


def dags_unpause(dag_id: str) -> AirflowCommand:
    """``dags unpause DAG``."""
    return AirflowCommand(("dags", "unpause", "--", check_name(dag_id, "DAG id")))


def variables_set(key: str, value: object, *, description: str | None = None) -> AirflowCommand:
    """``variables set KEY VALUE``; non-string values are stored as their JSON text.

    The value is secret: :meth:`AirflowCommand.display` shows ``***`` in its place.

    :param key: the variable key
    :param value: a string, or any JSON-serializable value
    :param description: an optional description
    """
    argv = ["variables", "set"]
    if description is not None:
        argv.append(f"--description={check_text(description, 'description')}")
    key = check_name(key, "variable key")
    argv += ["--", key, variable_value_text(value)]
    return AirflowCommand(
        tuple(argv), secret_indexes=frozenset({len(argv) - 1}), expect=f"Variable {key} created"
    )


def variables_get(key: str) -> AirflowCommand:
    """``variables get KEY`` (its stdout is the value: treat the result as secret)."""
    return AirflowCommand(("variables", "get", "--", check_name(key, "variable key")), mutating=False)


def variables_delete(key: str) -> AirflowCommand:
    """``variables delete KEY``."""
    key = check_name(key, "variable key")
    return AirflowCommand(("variables", "delete", "--", key), expect=f"Variable {key} deleted")


def variables_list(*, output: str = "json") -> AirflowCommand:
    """``variables list`` (keys only)."""
    return AirflowCommand(
        ("variables", "list", f"--output={check_name(output, 'output')}"),
        mutating=False,
        expect="json" if output == "json" else "",
    )


def connections_add(
    conn_id: str,
    *,
    uri: str | None = None,
    conn_json: Mapping[str, Any] | None = None,
    conn_type: str | None = None,
    host: str | None = None,
    login: str | None = None,
    password: str | None = None,
    schema: str | None = None,
    port: int | None = None,
    extra: Mapping[str, Any] | str | None = None,
    description: str | None = None,
) -> AirflowCommand:
    """``connections add``: from a URI, a JSON document, or separate fields (not mixed).

    The URI, JSON, password and extra are secret in :meth:`AirflowCommand.display`.

    :param conn_id: the connection id
    :param uri: ``--conn-uri``
    :param conn_json: ``--conn-json`` (a mapping, written as JSON)
    """
    argv = ["connections", "add"]
    secret: set[int] = set()
    fields = {
        "--conn-type": conn_type,
        "--conn-host": host,
        "--conn-login": login,
        "--conn-password": password,
        "--conn-schema": schema,
        "--conn-port": None if port is None else str(int(port)),
        "--conn-extra": None if extra is None else (extra if isinstance(extra, str) else json.dumps(extra)),
        "--conn-description": description,
    }
    given = sum(x is not None for x in (uri, conn_json)) + any(v is not None for v in fields.values())
    if given != 1:
        raise InvalidCommandArgumentError(
            "give the connection as exactly one of: uri, conn_json, or separate fields (conn_type, host...)"
        )
    if uri is not None:
        secret.add(len(argv))
        argv.append(f"--conn-uri={check_name(uri, 'connection URI')}")
    elif conn_json is not None:
        secret.add(len(argv))
        argv.append(
            f"--conn-json={check_text(json.dumps(dict(conn_json), ensure_ascii=False), 'connection JSON')}"
        )
    else:
        if conn_type is None:
            raise InvalidCommandArgumentError("conn_type is needed when the connection is given as fields")
        for flag, value in fields.items():
            if value is None:
                continue
            if flag in ("--conn-password", "--conn-extra"):
                secret.add(len(argv))
            argv.append(f"{flag}={check_text(value, flag[2:].replace('-', ' '))}")
    argv += ["--", check_name(conn_id, "connection id")]
    return AirflowCommand(tuple(argv), secret_indexes=frozenset(secret))


def connections_delete(conn_id: str) -> AirflowCommand:
    """``connections delete CONN_ID``."""
    return AirflowCommand(("connections", "delete", "--", check_name(conn_id, "connection id")))


def db_clean(
    clean_before_timestamp: datetime | str,
    *,
    tables: Iterable[str] | None = None,
    dry_run: bool = False,
    skip_archive: bool = False,
) -> AirflowCommand:
    """``db clean --clean-before-timestamp TS --yes`` (MWAA has no terminal to answer a prompt).

    :param clean_before_timestamp: delete rows older than this (timezone-aware is best)
    :param tables: only these tables
    :param dry_run: only report what would be deleted
    :param skip_archive: do not keep ``_airflow_deleted__*`` archive tables
    """
    argv = ["db", "clean", f"--clean-before-timestamp={date_text(clean_before_timestamp, 'timestamp')}"]
    if tables:
        names = [check_name(table, "table name") for table in tables]
        argv.append(f"--tables={','.join(names)}")
    if dry_run:
        argv.append("--dry-run")
    if skip_archive:
        argv.append("--skip-archive")
    argv.append("--yes")
    return AirflowCommand(tuple(argv), mutating=not dry_run)


def tasks_states_for_dag_run(dag_id: str, run_id: str, *, output: str = "json") -> AirflowCommand:
    """``tasks states-for-dag-run DAG RUN_ID`` (run ids are accepted by Airflow 2 and 3).

    :param dag_id: the DAG
    :param run_id: the run id (or logical date)
    :param output: ``json`` (default), ``yaml``, ``plain`` or ``table``
    """
    return AirflowCommand(
        (
            "tasks",
            "states-for-dag-run",
            f"--output={check_name(output, 'output')}",
            "--",
            check_name(dag_id, "DAG id"),
            check_name(run_id, "run id"),
        ),
        mutating=False,
        expect="json" if output == "json" else "",
    )


def _check_raw(argv: Sequence[str]) -> None:
    """What the remote parser would silently get wrong: a second ``--`` (Airflow's argparse
    drops it, so ``variables set -- k --`` would store ``[]``), and ``-h``/``--help`` (it would
    print the usage, exit 0 and do nothing)."""
    separator = False
    for arg in argv:
        if arg == "--":
            if separator:
                raise InvalidCommandArgumentError(
                    "an argument cannot be exactly '--' after the '--' separator: Airflow's CLI parser drops it"
                )
            separator = True
        elif not separator and arg in ("-h", "--help"):
            raise InvalidCommandArgumentError(
                f"{arg} would only print the usage of 'airflow {command_name(argv)}' and run nothing; "
                "see `airflow ... --help` in the Airflow docs instead"
            )


def _json_output(argv: Sequence[str]) -> bool:
    for index, arg in enumerate(argv):
        if arg == "--":
            return False
        if arg in ("--output=json", "-ojson") or (
            arg in ("--output", "-o") and argv[index + 1 : index + 2] == ["json"]
        ):
            return True
    return False


def raw(command: str | Sequence[str]) -> AirflowCommand:
    """A command the user typed (a line or an argument vector), split the way the remote side splits it.

    :raises InvalidCommandArgumentError: when the line has unbalanced quotes
    """
    if isinstance(command, str):
        argv = split_command_line(command)
    else:
        # `--` itself is the separator (a second one is refused by _check_raw)
        argv = [arg if arg == "--" else check_text(arg, "argument") for arg in command]
    if argv and argv[0] == "airflow":
        argv = argv[1:]
    if not argv:
        raise InvalidCommandArgumentError("empty Airflow command")
    _check_raw(argv)
    name = command_name(argv)
    read_only = name in READ_ONLY_COMMANDS or (name == "db clean" and "--dry-run" in argv)
    return AirflowCommand(tuple(argv), mutating=not read_only, expect="json" if _json_output(argv) else "")
