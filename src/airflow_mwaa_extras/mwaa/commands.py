"""Typed builders of the Airflow CLI commands users send to MWAA, and the table MWAA accepts.

Every builder returns an :class:`AirflowCommand` whose ``argv`` is the exact argument vector the
remote ``airflow`` receives; :meth:`AirflowCommand.to_shell` quotes it with :func:`shlex.join`, so
the remote side's shell-style split gives back the same ``argv``, byte for byte, and no argument
can become a second command. Option values are written as ``--option=value`` and user-supplied
positionals follow ``--``, so a value starting with ``-`` is never read as an option.

Each builder takes the target ``airflow_version`` (``"2.10.3"``, ``"3.3.1"``) and emits that
version's dialect (``dags list-runs -d DAG`` on 2.x, ``dags list-runs DAG`` on 3.x;
``--exec-date`` on 2.x, ``--logical-date`` on 3.x). :func:`check_supported` refuses commands that
MWAA's ``/aws_mwaa/cli`` does not accept for that version, before anything reaches the network
(``allow_unlisted`` lets a command the table does not know through: MWAA adds commands over time).

Each command also says whether it changes something (:attr:`AirflowCommand.mutating`: the client
never resends a mutating command that may have reached Airflow) and what it prints on success
(:attr:`AirflowCommand.expect`: a JSON document, or a line such as ``Variable k created``), because
MWAA's answer has no exit code (:func:`output_failed`).
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from packaging.version import InvalidVersion, Version

from airflow_mwaa_extras.mwaa.errors import MwaaError, UnsupportedCommandError

REDACTED = "***"


class InvalidCommandArgumentError(MwaaError, ValueError):
    """An argument cannot be sent as part of a remote Airflow command (e.g. invalid conf JSON)."""


@dataclass(frozen=True)
class AirflowCommand:
    """An Airflow CLI command as an argument vector (without the leading ``airflow``).

    :param argv: the arguments the remote ``airflow`` receives
    :param secret_indexes: positions in ``argv`` whose value must never be logged or printed
    """

    argv: tuple[str, ...]
    secret_indexes: frozenset[int] = field(default=frozenset(), compare=False)
    #: whether running it changes something (then it is never resent after it may have run)
    mutating: bool = field(default=True, compare=False)
    #: what stdout holds on success: ``"json"`` (a JSON document), a line (``"Variable k created"``),
    #: or ``""`` when nothing is known (then stderr is read: see :func:`output_failed`)
    expect: str = field(default="", compare=False)

    def to_shell(self) -> str:
        """The command line sent to ``/aws_mwaa/cli``: every argument shell-quoted."""
        return shlex.join(self.argv)

    @property
    def name(self) -> str:
        """``"dags trigger"``, ``"version"``: the command without its arguments."""
        return command_name(self.argv)

    def display(self) -> str:
        """The command line with secret values replaced by ``***``, safe to log."""
        shown = []
        for index, arg in enumerate(self.argv):
            if index in self.secret_indexes:
                option, sep, _value = arg.partition("=")
                shown.append(f"{option}={REDACTED}" if sep and option.startswith("--") else REDACTED)
            else:
                shown.append(arg)
        return shlex.join(shown)

    def __str__(self) -> str:
        return self.display()


# --- the table of commands MWAA's /aws_mwaa/cli accepts ------------------------------------
#
# Airflow 2.x: the MWAA user guide's table (command -> first Airflow version it is listed for).
# Airflow 3.x: the AWS "Apache Airflow CLI command reference" page for v3.x (3.0.6, 3.2.1, 3.3.1):
# the same commands where they still exist in Airflow 3's CLI, `backfill create` instead of
# `dags backfill`, the `assets` group, and the `roles` group (MWAA 3 runs the FAB auth manager).
# MWAA has never accepted `variables import`, `connections import/get/list` or the server commands.
_V2: dict[str, tuple[int, int]] = {
    "cheat-sheet": (2, 0),
    "connections add": (2, 0),
    "connections delete": (2, 0),
    "dags backfill": (2, 2),
    "dags delete": (2, 0),
    "dags list": (2, 2),
    "dags list-jobs": (2, 0),
    "dags list-import-errors": (2, 6),
    "dags list-runs": (2, 2),
    "dags next-execution": (2, 2),
    "dags pause": (2, 0),
    "dags report": (2, 0),
    "dags reserialize": (2, 4),
    "dags show": (2, 0),
    "dags state": (2, 0),
    "dags test": (2, 0),
    "dags trigger": (2, 0),
    "dags unpause": (2, 0),
    "db clean": (2, 4),
    "providers behaviours": (2, 0),
    "providers get": (2, 0),
    "providers hooks": (2, 0),
    "providers links": (2, 0),
    "providers list": (2, 0),
    "providers widgets": (2, 0),
    "providers notifications": (2, 8),
    "providers secrets": (2, 6),
    "providers triggers": (2, 7),
    "roles add-perms": (2, 6),
    "roles del-perms": (2, 6),
    "roles create": (2, 6),
    "roles list": (2, 0),
    "tasks clear": (2, 0),
    "tasks failed-deps": (2, 0),
    "tasks list": (2, 0),
    "tasks render": (2, 0),
    "tasks run": (2, 0),
    "tasks state": (2, 0),
    "tasks states-for-dag-run": (2, 0),
    "tasks test": (2, 0),
    "variables delete": (2, 0),
    "variables get": (2, 0),
    "variables set": (2, 0),
    "variables list": (2, 0),
    "version": (2, 0),
}
_REMOVED_IN_V3 = {"dags backfill", "tasks run"}  # Airflow 3's CLI has no `tasks run`
_ADDED_IN_V3 = {
    "assets details": (3, 0),
    "assets list": (3, 0),
    "assets materialize": (3, 0),
    "backfill create": (3, 0),
}

# Commands that only read: safe to send again after a timeout or a 5xx. Everything else counts
# as changing something (an unknown command too).
READ_ONLY_COMMANDS = frozenset(
    {
        "assets details",
        "assets list",
        "cheat-sheet",
        "dags list",
        "dags list-import-errors",
        "dags list-jobs",
        "dags list-runs",
        "dags next-execution",
        "dags report",
        "dags show",
        "dags state",
        "providers behaviours",
        "providers get",
        "providers hooks",
        "providers links",
        "providers list",
        "providers notifications",
        "providers secrets",
        "providers triggers",
        "providers widgets",
        "roles list",
        "tasks failed-deps",
        "tasks list",
        "tasks render",
        "tasks state",
        "tasks states-for-dag-run",
        "variables get",
        "variables list",
        "version",
    }
)

#: set to ``1``/``true`` to send commands the table above does not list (see ``allow_unlisted``)
ALLOW_UNLISTED_ENV = "MWAA_EXTRAS_ALLOW_UNLISTED_COMMANDS"

SUPPORTED_COMMANDS: Mapping[int, Mapping[str, tuple[int, int]]] = {
    2: dict(_V2),
    3: {**{name: (3, 0) for name in _V2 if name not in _REMOVED_IN_V3}, **_ADDED_IN_V3},
}

# Groups whose commands are two words; everything else (`version`, `cheat-sheet`) is one word.
_GROUPS = {
    "assets",
    "backfill",
    "config",
    "connections",
    "dags",
    "db",
    "jobs",
    "pools",
    "providers",
    "roles",
    "tasks",
    "users",
    "variables",
}


def parse_airflow_version(airflow_version: str) -> tuple[int, int, int]:
    """``"2.10.3"`` -> ``(2, 10, 3)``; raise a one-line error for anything that is not a version."""
    try:
        release = Version(str(airflow_version)).release
    except InvalidVersion:
        raise InvalidCommandArgumentError(f"not an Airflow version: {airflow_version!r}") from None
    parts = (*release, 0, 0, 0)
    return (parts[0], parts[1], parts[2])


def is_airflow_3(airflow_version: str) -> bool:
    return parse_airflow_version(airflow_version) >= (3, 0, 0)


def command_name(argv: Sequence[str]) -> str:
    """The command part of an argument vector: ``("dags", "trigger", "x")`` -> ``"dags trigger"``."""
    if not argv:
        return ""
    if argv[0] in _GROUPS and len(argv) > 1 and not argv[1].startswith("-"):
        return f"{argv[0]} {argv[1]}"
    return argv[0]


def allow_unlisted_from_env() -> bool:
    """Whether ``MWAA_EXTRAS_ALLOW_UNLISTED_COMMANDS`` asks to let unlisted commands through."""
    return os.environ.get(ALLOW_UNLISTED_ENV, "").strip().lower() in ("1", "true", "yes")


def check_supported(
    command: AirflowCommand | str | Sequence[str], airflow_version: str, *, allow_unlisted: bool = False
) -> None:
    """Refuse a command that MWAA's CLI endpoint does not run for ``airflow_version``.

    :param command: an :class:`AirflowCommand`, a command line, or an argument vector
    :param airflow_version: the environment's Airflow version (GetEnvironment's AirflowVersion)
    :param allow_unlisted: let a command the table does not list through (MWAA adds commands
        over time; MWAA itself answers HTTP 500 for one it does not run)
    :raises UnsupportedCommandError: naming the command and version, and what to use instead
    """
    if isinstance(command, AirflowCommand):
        argv: Sequence[str] = command.argv
    elif isinstance(command, str):
        try:
            argv = shlex.split(command)
        except ValueError as err:
            raise InvalidCommandArgumentError(f"cannot split the command line: {err}") from None
    else:
        argv = command
    name = command_name(argv)
    if not name:
        raise UnsupportedCommandError("empty Airflow command")
    version = parse_airflow_version(airflow_version)
    table = SUPPORTED_COMMANDS.get(version[0])
    if table is None:
        raise UnsupportedCommandError(
            f"Airflow {airflow_version} is not supported: MWAA environments run Airflow 2.x or 3.x"
        )
    minimum = table.get(name)
    if minimum is None:
        if allow_unlisted:
            return
        hint = _HINTS.get(name, "") or _UNLISTED_HINT
        raise UnsupportedCommandError(
            f"MWAA does not run 'airflow {name}' through its CLI endpoint on Airflow {airflow_version}{hint}"
        )
    if version[:2] < minimum:
        raise UnsupportedCommandError(
            f"'airflow {name}' needs Airflow {minimum[0]}.{minimum[1]} or newer on MWAA; "
            f"the environment runs {airflow_version}"
        )


def check_known(command: AirflowCommand, *, allow_unlisted: bool = False) -> None:
    """Refuse a command that MWAA runs on no Airflow version (needs no version, so no network call)."""
    name = command.name
    if not name:
        raise UnsupportedCommandError("empty Airflow command")
    if allow_unlisted:
        return
    if not any(name in table for table in SUPPORTED_COMMANDS.values()):
        raise UnsupportedCommandError(
            f"MWAA does not run 'airflow {name}' through its CLI endpoint{_HINTS.get(name, '') or _UNLISTED_HINT}"
        )


_UNLISTED_HINT = f" (if MWAA has added it, pass allow_unlisted=True, `mwaa-extras run --allow-unlisted`, or set {ALLOW_UNLISTED_ENV}=1)"


_HINTS = {
    "variables import": " (use `mwaa-extras variables import`, which sends one `variables set` per key)",
    "connections import": " (add connections one by one with `connections add`)",
    "dags backfill": " (Airflow 3 replaced it with `backfill create`)",
    "backfill create": " (Airflow 2 uses `dags backfill`)",
}


# --- argument checks -----------------------------------------------------------------------


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidCommandArgumentError(f"{what} must be a string, got {type(value).__name__}")
    if value == "--":
        # Python's argparse (Airflow's CLI parser) drops an argument that is exactly "--".
        raise InvalidCommandArgumentError(f"{what} cannot be exactly '--': Airflow's CLI parser drops it")
    if "\x00" in value:
        raise InvalidCommandArgumentError(f"{what} contains a NUL character, which no command line can carry")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidCommandArgumentError(f"{what} is not valid Unicode text (lone surrogate)") from None
    return value


def _name(value: object, what: str) -> str:
    text = _text(value, what)
    if not text:
        raise InvalidCommandArgumentError(f"{what} must not be empty")
    if "\n" in text or "\r" in text:
        # Airflow's error would show only the part after the line break.
        raise InvalidCommandArgumentError(
            f"{what} {text!r} contains a line break, which no Airflow id may hold"
        )
    return text


def check_name(value: object, what: str) -> str:
    """``value`` if it can be sent as an Airflow id or name (a non-empty line of text)."""
    return _name(value, what)


def _date(value: datetime | str, what: str) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return _name(value, what)


def conf_json(conf: Mapping[str, Any] | str) -> str:
    """The ``--conf`` value: a JSON object, from a mapping or a JSON text (validated).

    :raises InvalidCommandArgumentError: when the text is not JSON or not a JSON object
    """
    if isinstance(conf, str):
        try:
            value = json.loads(conf)
        except json.JSONDecodeError as err:
            raise InvalidCommandArgumentError(f"conf is not valid JSON: {err}") from None
    else:
        value = conf
    if not isinstance(value, Mapping):
        raise InvalidCommandArgumentError(f"conf must be a JSON object, got {type(value).__name__}")
    try:
        text = json.dumps(dict(value), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise InvalidCommandArgumentError(f"conf cannot be written as JSON: {err}") from None
    return _text(text, "conf")


# --- builders ------------------------------------------------------------------------------


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
        argv.append(f"--run-id={_name(run_id, 'run id')}")
    if logical_date is not None:
        flag = "--logical-date" if is_airflow_3(airflow_version) else "--exec-date"
        argv.append(f"{flag}={_date(logical_date, 'logical date')}")
    argv += ["--", _name(dag_id, "DAG id")]
    # Success prints the run: as JSON, or `Created <DagRun ...>` before `--output` existed.
    return AirflowCommand(tuple(argv), expect="json" if json_out else "Created <DagRun")


def dags_state(
    dag_id: str, logical_date_or_run_id: datetime | str, *, airflow_version: str
) -> AirflowCommand:
    """``dags state``: Airflow 2 takes the logical (execution) date, Airflow 3 also a run id.

    :param dag_id: the DAG
    :param logical_date_or_run_id: the run's logical date (or, on Airflow 3, its run id)
    :param airflow_version: the target environment's Airflow version
    """
    parse_airflow_version(airflow_version)
    when = _date(logical_date_or_run_id, "logical date or run id")
    return AirflowCommand(("dags", "state", "--", _name(dag_id, "DAG id"), when), mutating=False)


def dags_list_runs(
    dag_id: str, *, airflow_version: str, state: str | None = None, output: str = "json"
) -> AirflowCommand:
    """``dags list-runs``: ``-d DAG`` on Airflow 2, a positional DAG id on Airflow 3.

    :param dag_id: the DAG
    :param airflow_version: the target environment's Airflow version
    :param state: only runs in this state (``queued``, ``running``, ``success``, ``failed``)
    :param output: ``json`` (default, machine-readable), ``yaml``, ``plain`` or ``table``
    """
    argv = ["dags", "list-runs", f"--output={_name(output, 'output')}"]
    if state is not None:
        argv.append(f"--state={_name(state, 'state')}")
    if is_airflow_3(airflow_version):
        argv += ["--", _name(dag_id, "DAG id")]
    else:
        argv.append(f"--dag-id={_name(dag_id, 'DAG id')}")
    return AirflowCommand(tuple(argv), mutating=False, expect="json" if output == "json" else "")


def dags_list(*, airflow_version: str) -> AirflowCommand:
    """``dags list --output=json``: judged by its JSON, so an unrelated broken DAG file (Airflow
    2.10 prints ``Error: Failed to load all files`` and exits 0) does not fail it. Airflow 3 reads
    the DAGs from the metadata DB; Airflow 2 parses every DAG file (slow on big environments)."""
    parse_airflow_version(airflow_version)
    return AirflowCommand(("dags", "list", "--output=json"), mutating=False, expect="json")


def dags_pause(dag_id: str, *, airflow_version: str) -> AirflowCommand:
    """``dags pause DAG``."""
    parse_airflow_version(airflow_version)
    return AirflowCommand(("dags", "pause", "--", _name(dag_id, "DAG id")))


def dags_unpause(dag_id: str, *, airflow_version: str) -> AirflowCommand:
    """``dags unpause DAG``."""
    parse_airflow_version(airflow_version)
    return AirflowCommand(("dags", "unpause", "--", _name(dag_id, "DAG id")))


def variable_value_text(value: object) -> str:
    """Strings as they are; anything else (numbers, lists, objects, booleans) as JSON."""
    if isinstance(value, str):
        return _text(value, "variable value")
    try:
        return _text(json.dumps(value, ensure_ascii=False, allow_nan=False), "variable value")
    except (TypeError, ValueError) as err:
        raise InvalidCommandArgumentError(f"variable value cannot be written as JSON: {err}") from None


def variables_set(
    key: str, value: object, *, airflow_version: str, description: str | None = None
) -> AirflowCommand:
    """``variables set KEY VALUE``; non-string values are stored as their JSON text.

    The value is secret: :meth:`AirflowCommand.display` shows ``***`` in its place.

    :param key: the variable key
    :param value: a string, or any JSON-serializable value
    :param airflow_version: the target environment's Airflow version
    :param description: an optional description
    """
    parse_airflow_version(airflow_version)
    argv = ["variables", "set"]
    if description is not None:
        argv.append(f"--description={_text(description, 'description')}")
    key = _name(key, "variable key")
    argv += ["--", key, variable_value_text(value)]
    return AirflowCommand(
        tuple(argv), secret_indexes=frozenset({len(argv) - 1}), expect=f"Variable {key} created"
    )


def variables_get(key: str, *, airflow_version: str) -> AirflowCommand:
    """``variables get KEY`` (its stdout is the value: treat the result as secret)."""
    parse_airflow_version(airflow_version)
    return AirflowCommand(("variables", "get", "--", _name(key, "variable key")), mutating=False)


def variables_delete(key: str, *, airflow_version: str) -> AirflowCommand:
    """``variables delete KEY``."""
    parse_airflow_version(airflow_version)
    key = _name(key, "variable key")
    return AirflowCommand(("variables", "delete", "--", key), expect=f"Variable {key} deleted")


def variables_list(*, airflow_version: str, output: str = "json") -> AirflowCommand:
    """``variables list`` (keys only)."""
    parse_airflow_version(airflow_version)
    return AirflowCommand(
        ("variables", "list", f"--output={_name(output, 'output')}"),
        mutating=False,
        expect="json" if output == "json" else "",
    )


def connections_add(
    conn_id: str,
    *,
    airflow_version: str,
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
    :param airflow_version: the target environment's Airflow version
    :param uri: ``--conn-uri``
    :param conn_json: ``--conn-json`` (a mapping, written as JSON)
    """
    parse_airflow_version(airflow_version)
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
        argv.append(f"--conn-uri={_name(uri, 'connection URI')}")
    elif conn_json is not None:
        secret.add(len(argv))
        argv.append(
            f"--conn-json={_text(json.dumps(dict(conn_json), ensure_ascii=False), 'connection JSON')}"
        )
    else:
        if conn_type is None:
            raise InvalidCommandArgumentError("conn_type is needed when the connection is given as fields")
        for flag, value in fields.items():
            if value is None:
                continue
            if flag in ("--conn-password", "--conn-extra"):
                secret.add(len(argv))
            argv.append(f"{flag}={_text(value, flag[2:].replace('-', ' '))}")
    argv += ["--", _name(conn_id, "connection id")]
    return AirflowCommand(tuple(argv), secret_indexes=frozenset(secret))


def connections_delete(conn_id: str, *, airflow_version: str) -> AirflowCommand:
    """``connections delete CONN_ID``."""
    parse_airflow_version(airflow_version)
    return AirflowCommand(("connections", "delete", "--", _name(conn_id, "connection id")))


def db_clean(
    clean_before_timestamp: datetime | str,
    *,
    airflow_version: str,
    tables: Iterable[str] | None = None,
    dry_run: bool = False,
    skip_archive: bool = False,
) -> AirflowCommand:
    """``db clean --clean-before-timestamp TS --yes`` (MWAA has no terminal to answer a prompt).

    :param clean_before_timestamp: delete rows older than this (timezone-aware is best)
    :param airflow_version: the target environment's Airflow version
    :param tables: only these tables
    :param dry_run: only report what would be deleted
    :param skip_archive: do not keep ``_airflow_deleted__*`` archive tables
    """
    parse_airflow_version(airflow_version)
    argv = ["db", "clean", f"--clean-before-timestamp={_date(clean_before_timestamp, 'timestamp')}"]
    if tables:
        names = [_name(table, "table name") for table in tables]
        argv.append(f"--tables={','.join(names)}")
    if dry_run:
        argv.append("--dry-run")
    if skip_archive:
        argv.append("--skip-archive")
    argv.append("--yes")
    return AirflowCommand(tuple(argv), mutating=not dry_run)


def tasks_states_for_dag_run(
    dag_id: str, run_id: str, *, airflow_version: str, output: str = "json"
) -> AirflowCommand:
    """``tasks states-for-dag-run DAG RUN_ID`` (run ids are accepted by Airflow 2 and 3).

    :param dag_id: the DAG
    :param run_id: the run id (or logical date)
    :param airflow_version: the target environment's Airflow version
    :param output: ``json`` (default), ``yaml``, ``plain`` or ``table``
    """
    parse_airflow_version(airflow_version)
    return AirflowCommand(
        (
            "tasks",
            "states-for-dag-run",
            f"--output={_name(output, 'output')}",
            "--",
            _name(dag_id, "DAG id"),
            _name(run_id, "run id"),
        ),
        mutating=False,
        expect="json" if output == "json" else "",
    )


# --- reading the answer -------------------------------------------------------------------

# stderr lines a successful command may print: log records at any level (MWAA's older
# `[ts] {{file:line}} LEVEL - msg`, Airflow 2's `[ts] {file:line} LEVEL - msg`, Airflow 3's
# `ts [level   ] msg`, plain `LEVEL - msg`), Python warnings and the source line under them, rich's
# `Error: Failed to load all files` that `dags list` prints while exiting 0, and blank lines.
# ERROR records count as harmless: successful commands print them too (a broken plugin, a
# failed action log), and a command that failed leaves a traceback or a message of its own.
_HARMLESS_STDERR = re.compile(
    r"^\s*$"
    r"|^\[[^\]]+\]\s+\{\{?[^}]+\}\}?\s+[A-Z]+\b"
    r"|^\d{4}-\d\d-\d\d[ T][\d:,.]+\S*\s+(\[[^\]]+\]\s+)?(\{\{?[^ ]*\}\}?\s*)?[A-Za-z]*"
    r"(DEBUG|INFO|WARNING|ERROR|CRITICAL|debug|info|warning|error|critical)\b"
    r"|^(DEBUG|INFO|WARNING|ERROR|CRITICAL)\s+-\s"
    r"|^\S+:\d+:? \w*Warning\b"
    r"|^Error: Failed to load all files\b"
    r"|^\s+\S.*$"  # indented continuation (the source line under a warning)
)


def stderr_looks_failed(stderr: str) -> bool:
    """A heuristic, used only where a command prints nothing known on success: a traceback, or a
    stderr line that is no log record, warning or known harmless message, means it failed."""
    if "Traceback (most recent call last)" in stderr:
        return True
    return any(not _HARMLESS_STDERR.match(line) for line in stderr.splitlines())


def has_json_document(stdout: str) -> bool:
    """Whether stdout holds a JSON document (``--output=json``) after any log lines."""
    decoder = json.JSONDecoder()
    text = stdout.strip()
    if text.startswith("No data found") or re.search(r"^No data found", text, re.MULTILINE):
        return True  # what `--output=json` prints for an empty result
    for match in re.finditer(r"^\s*[\[{]", text, re.MULTILINE):
        try:
            decoder.raw_decode(text, match.end() - 1)
            return True
        except ValueError:
            continue
    return False


def output_failed(command: AirflowCommand, stdout: str, stderr: str) -> bool:
    """Whether the command failed, judged from what it prints on success.

    MWAA answers HTTP 200 with no exit code, whatever happened. A command whose success output
    is known (:attr:`AirflowCommand.expect`) succeeded exactly when stdout holds it, whatever
    stderr says (noise, an unrelated broken DAG). Only commands with nothing known fall back to
    :func:`stderr_looks_failed`.
    """
    if command.expect == "json":
        return not has_json_document(stdout)
    if command.expect:
        return command.expect not in stdout
    return stderr_looks_failed(stderr)


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
        try:
            argv = shlex.split(command)
        except ValueError as err:
            raise InvalidCommandArgumentError(f"cannot split the command line: {err}") from None
    else:
        # `--` itself is the separator (a second one is refused by _check_raw)
        argv = [arg if arg == "--" else _text(arg, "argument") for arg in command]
    if argv and argv[0] == "airflow":
        argv = argv[1:]
    if not argv:
        raise InvalidCommandArgumentError("empty Airflow command")
    _check_raw(argv)
    name = command_name(argv)
    read_only = name in READ_ONLY_COMMANDS or (name == "db clean" and "--dry-run" in argv)
    return AirflowCommand(tuple(argv), mutating=not read_only, expect="json" if _json_output(argv) else "")
