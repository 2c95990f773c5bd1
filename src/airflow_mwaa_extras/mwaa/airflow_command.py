"""One Airflow CLI command as an argument vector, and the checks every argument passes.

:class:`AirflowCommand` holds the exact ``argv`` the remote ``airflow`` receives;
:meth:`AirflowCommand.to_shell` quotes it with :func:`shlex.join`, so the remote side's
shell-style split gives back the same ``argv``, byte for byte, and no argument can become a
second command. The checks here refuse what no command line can carry (NUL, lone surrogates),
what Airflow's parser would silently drop (an argument that is exactly ``--``) and ids with line
breaks, before anything reaches the network.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_mwaa_extras.mwaa.errors import InvalidCommandArgumentError

__all__ = [
    "REDACTED",
    "AirflowCommand",
    "check_name",
    "check_text",
    "command_name",
    "conf_json",
    "date_text",
    "split_command_line",
    "variable_value_text",
]

REDACTED = "***"


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


def command_name(argv: Sequence[str]) -> str:
    """The command part of an argument vector: ``("dags", "trigger", "x")`` -> ``"dags trigger"``."""
    if not argv:
        return ""
    if argv[0] in _GROUPS and len(argv) > 1 and not argv[1].startswith("-"):
        return f"{argv[0]} {argv[1]}"
    return argv[0]


def split_command_line(line: str) -> list[str]:
    """``line`` split the way the remote side splits it (shell rules).

    :raises InvalidCommandArgumentError: when the line has unbalanced quotes
    """
    try:
        return shlex.split(line)
    except ValueError as err:
        raise InvalidCommandArgumentError(f"cannot split the command line: {err}") from None


def check_text(value: object, what: str) -> str:
    """``value`` if a command line can carry it as one argument."""
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


def check_name(value: object, what: str) -> str:
    """``value`` if it can be sent as an Airflow id or name (a non-empty line of text)."""
    text = check_text(value, what)
    if not text:
        raise InvalidCommandArgumentError(f"{what} must not be empty")
    if "\n" in text or "\r" in text:
        # Airflow's error would show only the part after the line break.
        raise InvalidCommandArgumentError(
            f"{what} {text!r} contains a line break, which no Airflow id may hold"
        )
    return text


def date_text(value: datetime | str, what: str) -> str:
    """A date as ISO text (a string is sent as given, after the id checks)."""
    if isinstance(value, datetime):
        return value.isoformat()
    return check_name(value, what)


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
    return check_text(text, "conf")


def variable_value_text(value: object) -> str:
    """Strings as they are; anything else (numbers, lists, objects, booleans) as JSON."""
    if isinstance(value, str):
        return check_text(value, "variable value")
    try:
        return check_text(json.dumps(value, ensure_ascii=False, allow_nan=False), "variable value")
    except (TypeError, ValueError) as err:
        raise InvalidCommandArgumentError(f"variable value cannot be written as JSON: {err}") from None
