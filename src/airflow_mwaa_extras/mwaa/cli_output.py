"""Reading what ``/aws_mwaa/cli`` answered: decoding it, and judging whether the command failed.

MWAA answers HTTP 200 with ``{"stdout": b64, "stderr": b64}`` and no exit code, whatever
happened. :func:`output_failed` judges a command by what it prints on success; the stderr
heuristic (:func:`stderr_looks_failed`) is the fallback for commands whose success output is
unknown.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.mwaa.errors import MwaaProtocolError

if TYPE_CHECKING:
    from airflow_mwaa_extras.mwaa.airflow_command import AirflowCommand

__all__ = ["decode_cli_response", "has_json_document", "output_failed", "stderr_looks_failed"]


def _decode_field(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MwaaProtocolError(f"the CLI endpoint's {name} is not a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise MwaaProtocolError(f"the CLI endpoint's {name} is not valid base64") from None
    return raw.decode("utf-8", errors="replace")


def decode_cli_response(body: bytes) -> tuple[str, str]:
    """``{"stdout": b64, "stderr": b64}`` -> ``(stdout, stderr)``.

    :raises MwaaProtocolError: when the body is not that JSON document
    """
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        snippet = body[:80].decode("utf-8", errors="replace").strip()
        raise MwaaProtocolError(
            f"the CLI endpoint answered something that is not JSON: {snippet!r}"
        ) from None
    if not isinstance(payload, dict) or not ({"stdout", "stderr"} & payload.keys()):
        raise MwaaProtocolError("the CLI endpoint's JSON has neither stdout nor stderr")
    return _decode_field(payload, "stdout"), _decode_field(payload, "stderr")


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
