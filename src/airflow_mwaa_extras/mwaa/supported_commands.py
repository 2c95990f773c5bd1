"""Which Airflow CLI commands MWAA's ``/aws_mwaa/cli`` runs, per Airflow version, and which only read.

:func:`check_supported` refuses a command MWAA does not accept for the environment's version
before anything reaches the network (``allow_unlisted`` lets a command the table does not know
through: MWAA adds commands over time). :data:`READ_ONLY_COMMANDS` tells the client which
commands it may resend after an answer was lost.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from packaging.version import InvalidVersion, Version

from airflow_mwaa_extras.mwaa.airflow_command import AirflowCommand, command_name, split_command_line
from airflow_mwaa_extras.mwaa.errors import InvalidCommandArgumentError, UnsupportedCommandError

__all__ = [
    "ALLOW_UNLISTED_ENV",
    "READ_ONLY_COMMANDS",
    "SUPPORTED_COMMANDS",
    "allow_unlisted_from_env",
    "check_known",
    "check_supported",
    "is_airflow_3",
    "parse_airflow_version",
]

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
        argv = split_command_line(command)
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
