"""One exception family for everything that can go wrong talking to an MWAA environment.

Every message is one line naming the cause; :class:`MwaaCliError` also carries the command that
ran and the decoded stderr of the remote Airflow CLI. Imports nothing heavy.
"""

from __future__ import annotations

from airflow_mwaa_extras.exceptions import MwaaExtrasError


class MwaaError(MwaaExtrasError):
    """Root of the errors raised while talking to an MWAA environment."""


class MwaaCliError(MwaaError):
    """The remote Airflow CLI command ran and failed (non-empty error output or a usage error).

    :param command: the command line sent to ``/aws_mwaa/cli``
    :param stderr: the decoded standard error of the remote command
    :param stdout: the decoded standard output of the remote command
    :param environment: the MWAA environment name
    """

    def __init__(self, command: str, stderr: str, stdout: str = "", environment: str = "") -> None:
        self.command = command
        self.stderr = stderr
        self.stdout = stdout
        self.environment = environment
        last = _last_meaningful_line(stderr) or "no error output"
        where = f" in {environment}" if environment else ""
        super().__init__(f"airflow {command_head(command)} failed{where}: {last}")


class MwaaAccessDeniedError(MwaaError):
    """The caller's IAM identity may not create the token (e.g. ``airflow:CreateCliToken``)."""


class MwaaEnvironmentNotFoundError(MwaaError):
    """No MWAA environment with that name exists in the region."""


class MwaaUnreachableError(MwaaError):
    """The environment's web server could not be reached (network, DNS, timeouts, 5xx after retries)."""


class MwaaCommandMayHaveRunError(MwaaError):
    """A command that changes something got no clear answer after it may have reached Airflow
    (HTTP 500/502/504, a broken connection, a timeout). It is never resent blindly: check the
    environment before running it again.

    :param command: the command (secret values shown as ``***``)
    :param environment: the MWAA environment name
    :param why: what happened to the request
    """

    def __init__(self, command: str, environment: str, why: str) -> None:
        self.command = command
        self.environment = environment
        self.why = why
        super().__init__(
            f"airflow {command_head(command)} may have run in {environment} ({why}); "
            "check before running it again"
        )


class MwaaProtocolError(MwaaError):
    """The web server answered with something that is not the documented JSON with base64 fields."""


class UnsupportedCommandError(MwaaError):
    """MWAA does not accept this Airflow CLI command for the environment's Airflow version."""


class InvalidCommandArgumentError(MwaaError, ValueError):
    """An argument cannot be sent as part of a remote Airflow command (e.g. invalid conf JSON)."""


class MwaaThrottledError(MwaaError):
    """The environment kept answering 503 (too many concurrent CLI commands) or throttled the API."""


def command_head(command: str, words: int = 2) -> str:
    """The first ``words`` words of a command: enough to name it without echoing its arguments.

    Arguments (variable values, connection passwords) never go into messages.
    """
    return " ".join(command.split()[:words])


def _last_meaningful_line(text: str) -> str:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line:
            return line[:500]
    return ""
