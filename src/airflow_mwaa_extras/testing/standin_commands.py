"""What the MWAA stand-in's CLI endpoint runs: its own table, copied from the AWS documentation.

The table is the "Apache Airflow CLI command reference" page of the MWAA user guide (see
``shared/reference/mwaa-real-behaviour.md``): command -> the first Airflow version the page lists
it for. It is written out here on purpose and never imported from the client
(:mod:`airflow_mwaa_extras.mwaa.commands`): if both read one table, a wrong entry would make the
client and the stand-in agree, and no test could notice.

Like MWAA, the stand-in answers HTTP 500 for a command that is not in the table
(aws/amazon-mwaa-docker-images issue 148).
"""

from __future__ import annotations

import shlex

from packaging.version import InvalidVersion, Version

# v2.x: the page's table (minimum version per command).
_V2 = {
    "cheat-sheet": "2.0",
    "connections add": "2.0",
    "connections delete": "2.0",
    "dags backfill": "2.2",
    "dags delete": "2.0",
    "dags list": "2.2",
    "dags list-jobs": "2.0",
    "dags list-import-errors": "2.6",
    "dags list-runs": "2.2",
    "dags next-execution": "2.2",
    "dags pause": "2.0",
    "dags report": "2.0",
    "dags reserialize": "2.4",
    "dags show": "2.0",
    "dags state": "2.0",
    "dags test": "2.0",
    "dags trigger": "2.0",
    "dags unpause": "2.0",
    "db clean": "2.4",
    "providers behaviours": "2.0",
    "providers get": "2.0",
    "providers hooks": "2.0",
    "providers links": "2.0",
    "providers list": "2.0",
    "providers notifications": "2.8",
    "providers secrets": "2.6",
    "providers triggers": "2.7",
    "providers widgets": "2.0",
    "roles add-perms": "2.6",
    "roles create": "2.6",
    "roles del-perms": "2.6",
    "roles list": "2.0",
    "tasks clear": "2.0",
    "tasks failed-deps": "2.0",
    "tasks list": "2.0",
    "tasks render": "2.0",
    "tasks run": "2.0",
    "tasks state": "2.0",
    "tasks states-for-dag-run": "2.0",
    "tasks test": "2.0",
    "variables delete": "2.0",
    "variables get": "2.0",
    "variables list": "2.0",
    "variables set": "2.0",
    "version": "2.0",
}

# v3.x (3.0.6, 3.2.1, 3.3.1): the page lists the v2 commands that still exist in Airflow 3 (not
# `tasks run`, which Airflow 3's CLI no longer has),
# `backfill create` for `dags backfill`, the `assets` group, and the `roles` group (MWAA 3 runs
# the FAB auth manager).
_V3_DROPPED = {"dags backfill", "tasks run"}
_V3 = {
    **{name: "3.0" for name in _V2 if name not in _V3_DROPPED},
    "assets details": "3.0",
    "assets list": "3.0",
    "assets materialize": "3.0",
    "backfill create": "3.0",
}

_GROUPS = {"assets", "backfill", "connections", "dags", "db", "providers", "roles", "tasks", "variables"}


def command_of(line: str) -> str:
    """``"dags trigger -- x"`` -> ``"dags trigger"`` (``""`` when the line cannot be split)."""
    try:
        argv = shlex.split(line)
    except ValueError:
        return ""
    if argv and argv[0] in _GROUPS and len(argv) > 1:
        return f"{argv[0]} {argv[1]}"
    return argv[0] if argv else ""


def supported(command: str, airflow_version: str) -> bool:
    """Whether MWAA's CLI endpoint runs ``command`` (``"dags trigger"``) on ``airflow_version``."""
    try:
        version = Version(airflow_version)
    except InvalidVersion:
        return False
    table = _V3 if version.major >= 3 else _V2
    minimum = table.get(command)
    return minimum is not None and version >= Version(minimum)


def supported_commands(airflow_version: str) -> frozenset[str]:
    """Every command the stand-in runs for ``airflow_version``."""
    names = set(_V2) | set(_V3)
    return frozenset(name for name in names if supported(name, airflow_version))
