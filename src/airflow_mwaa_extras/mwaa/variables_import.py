"""``variables import`` into an MWAA environment: one set per key, resumable, with a per-key summary.

MWAA has no ``variables import`` command. This sends each key on its own, over either transport:

- ``rest_api``: InvokeRestApi and the Airflow REST API's variables endpoint
  (:mod:`~airflow_mwaa_extras.mwaa.rest_variables`), a few keys in flight at once, paced under
  MWAA's ~10 requests a second; a lost answer is settled by a lookup or an idempotent PATCH;
- ``cli``: one ``variables set`` command per key over the CLI endpoint, one at a time; a command
  whose answer was lost is not resent: the import stops there and says so.

``auto`` is ``rest_api`` when botocore has InvokeRestApi, else ``cli``; when IAM denies
InvokeRestApi, the rest of the import goes over the CLI endpoint with a warning naming the grant.

Resuming is the same on both: each key set is written to a progress file (with a fingerprint of
its value) before the next one counts as done; a re-run skips keys already set to the same value,
and the file is deleted once every key is in. No Airflow import.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError
from airflow_mwaa_extras.mwaa import commands
from airflow_mwaa_extras.mwaa.airflow_command import check_name
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.mwaa.errors import MwaaCliError, MwaaCommandMayHaveRunError
from airflow_mwaa_extras.mwaa.rest_api import (
    MwaaRestApiClient,
    RestApiAccessDeniedError,
    RestApiError,
    RestApiForbiddenError,
    RestApiPathError,
    RestApiUnavailableError,
    supports_invoke_rest_api,
)
from airflow_mwaa_extras.mwaa.rest_variables import RestVariableSetter

TRANSPORTS = ("auto", "rest_api", "cli")
#: InvokeRestApi requests a second by default: under MWAA's ~10, leaving the jitter some room
DEFAULT_RATE = 9.5
#: keys in flight at once over InvokeRestApi (each call takes a round trip; the pacing decides)
REST_WORKERS = 6

log = logging.getLogger(__name__)


def load_variables(path: Path) -> dict[str, Any]:
    """The JSON object of ``path`` (key: value), or a one-line :class:`UsageError`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UsageError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a JSON object of key: value pairs, not {type(data).__name__}")
    return data


def fingerprint(value_text: str) -> str:
    return hashlib.sha256(value_text.encode("utf-8")).hexdigest()


def default_state_file(source: Path, environment: str) -> Path:
    return source.with_name(f"{source.name}.{environment}.progress")


def read_state(path: Path, environment: str) -> dict[str, str]:
    """key -> value fingerprint of the keys an earlier run set."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UsageError(f"the progress file {path} is damaged; delete it to start over") from None
    if not isinstance(state, dict) or state.get("environment") != environment:
        raise UsageError(
            f"the progress file {path} belongs to another environment; delete it or pass --state-file"
        )
    done = state.get("done")
    return dict(done) if isinstance(done, dict) else {}


def write_state(path: Path, environment: str, done: Mapping[str, str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"environment": environment, "done": dict(done)}, indent=1), encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class ImportSummary:
    """What one import did.

    :param environment: the MWAA environment
    :param total: keys in the file
    :param outcomes: key -> ``set``, ``skipped`` (already set to that value), ``failed``,
        ``unknown`` (may have run) or ``not tried`` (the import stopped first)
    :param transports: key -> the transport that set it
    :param errors: key -> the one-line cause of a failure
    :param state_file: the progress file (kept when something is left to do)
    """

    environment: str
    total: int
    outcomes: dict[str, str] = field(default_factory=dict)
    transports: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    state_file: Path | None = None

    def count(self, outcome: str) -> int:
        return sum(1 for value in self.outcomes.values() if value == outcome)

    @property
    def complete(self) -> bool:
        return self.count("set") + self.count("skipped") == self.total

    def line(self) -> str:
        return (
            f"variables import into {self.environment}: {self.count('set')} set, "
            f"{self.count('skipped')} already there, {self.count('failed')} failed, "
            f"{self.count('unknown')} may have run (of {self.total})"
        )


class VariablesImportStopped(MwaaExtrasError):
    """The import stopped on a problem that is not one key's (access, network, the role).

    :param cause: the problem (its message is this error's)
    :param summary: what was done before it stopped (kept in the progress file)
    """

    def __init__(self, cause: MwaaExtrasError, summary: ImportSummary) -> None:
        self.cause = cause
        self.summary = summary
        super().__init__(str(cause))


class _Setter:
    """One key at a time, over the chosen transport (switching to the CLI endpoint in ``auto``
    when IAM denies InvokeRestApi or botocore lacks it)."""

    def __init__(
        self,
        transport: str,
        cli: MwaaEnvironmentClient,
        rest: MwaaRestApiClient | None,
        say: Callable[[str], None],
    ) -> None:
        self.requested = transport
        self.cli = cli
        self.rest = RestVariableSetter(rest) if rest is not None else None
        self.say = say
        self._lock = threading.Lock()
        if transport == "cli" or self.rest is None:
            self.use_rest = False
        elif transport == "rest_api":
            self.use_rest = True
        else:
            self.use_rest = supports_invoke_rest_api(self.rest.rest.mwaa_client)
            why = "botocore has InvokeRestApi" if self.use_rest else "botocore has no InvokeRestApi"
            say(f"variables go through {'InvokeRestApi' if self.use_rest else 'the CLI endpoint'} ({why})")

    @property
    def workers(self) -> int:
        return REST_WORKERS if self.use_rest else 1

    def set(self, key: str, value_text: str) -> str:
        if self.use_rest and self.rest is not None:
            try:
                self.rest.set(key, value_text)
                return "rest_api"
            except (RestApiAccessDeniedError, RestApiUnavailableError) as err:
                if self.requested != "auto":
                    raise
                with self._lock:
                    if self.use_rest:
                        self.use_rest = False
                        self.say(f"{err}; the rest of the import goes over the CLI endpoint")
            except RestApiPathError as err:
                if self.requested != "auto":
                    raise
                log.info("%s; sending this key over the CLI endpoint", err)
        self.cli.run(commands.variables_set(key, value_text))
        return "cli"


def import_variables(
    environment: str,
    variables: Mapping[str, Any],
    *,
    state_file: Path,
    transport: str = "auto",
    cli_client: MwaaEnvironmentClient | None = None,
    rest_client: MwaaRestApiClient | None = None,
    rate: float = DEFAULT_RATE,
    workers: int | None = None,
    report: Callable[[str], None] = log.info,
) -> ImportSummary:
    """Set every key of ``variables`` in ``environment``, resuming from ``state_file``.

    :param environment: the MWAA environment
    :param variables: key -> value (non-string values are stored as their JSON text)
    :param state_file: the progress file (read for a resume, deleted when all keys are in)
    :param transport: ``auto``, ``rest_api`` or ``cli``
    :param cli_client: the CLI endpoint client (created when None)
    :param rest_client: the InvokeRestApi client (created, paced at ``rate``, when None)
    :param rate: InvokeRestApi requests a second this import sends at most
    :param workers: keys in flight at once over InvokeRestApi (6); the CLI endpoint takes one
    :param report: called with each per-key line (``[3/10] key: set``)
    :raises VariablesImportStopped: access, network or role problems stopped the import (the
        progress file has what was done; ``.summary`` and ``.cause`` tell the rest)
    """
    if transport not in TRANSPORTS:
        raise UsageError(f"transport must be one of {', '.join(TRANSPORTS)}; got {transport!r}")
    if not rate > 0:
        raise UsageError(f"rate must be above 0 requests a second, got {rate}")
    cli = cli_client or MwaaEnvironmentClient(environment)
    if rest_client is None and transport != "cli":
        rest_client = MwaaRestApiClient(
            environment, mwaa_client=cli.mwaa_client, min_interval=1.0 / rate, max_attempts=10
        )
    done = read_state(state_file, environment)
    summary = ImportSummary(environment, len(variables), state_file=state_file)
    items = list(variables.items())
    lock = threading.Lock()
    stop: list[BaseException] = []
    setter = _Setter(transport, cli, rest_client, report)
    position = iter(enumerate(items, start=1))

    def one(index: int, key: str, value: Any) -> None:
        prefix = f"[{index}/{summary.total}] {key}"
        try:
            check_name(key, "variable key")  # the same rule on both transports
            value_text = commands.variable_value_text(value)
            if done.get(key) == fingerprint(value_text):
                with lock:
                    summary.outcomes[key] = "skipped"
                report(f"{prefix}: already imported, skipped")
                return
            used = setter.set(key, value_text)
        except MwaaCommandMayHaveRunError as err:
            # Not resent: stop here. A re-run sets it again (the same value: no harm done).
            with lock:
                summary.outcomes[key], summary.errors[key] = "unknown", str(err)
                stop.append(err)
            report(f"{prefix}: {err}")
            return
        except MwaaExtrasError as err:
            with lock:
                summary.outcomes[key], summary.errors[key] = "failed", str(err)
                if not _key_only(err):
                    stop.append(err)  # access, network, role: stop; what is done is kept
            report(f"{prefix}: FAILED: {err}")
            return
        with lock:
            done[key] = fingerprint(value_text)
            write_state(state_file, environment, done)
            summary.outcomes[key], summary.transports[key] = "set", used
        report(f"{prefix}: set")

    def worker() -> None:
        while True:
            with lock:
                if stop:
                    return
                nxt = next(position, None)
            if nxt is None:
                return
            index, (key, value) = nxt
            try:
                one(index, key, value)
            except BaseException as err:  # a bug or Ctrl-C: stop the others, re-raise below
                with lock:
                    stop.append(err)
                return

    count = max(1, workers or setter.workers) if setter.use_rest else 1
    threads = [threading.Thread(target=worker, name=f"vars-{n}") for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for key, _ in items:
        summary.outcomes.setdefault(key, "not tried")
    for err in stop:
        if not isinstance(err, MwaaExtrasError):
            raise err
        if not isinstance(err, MwaaCommandMayHaveRunError):
            raise VariablesImportStopped(err, summary) from err
    if summary.complete:
        state_file.unlink(missing_ok=True)
    return summary


def _key_only(err: MwaaExtrasError) -> bool:
    """Whether ``err`` is about this key only (the others may still go in)."""
    if isinstance(err, RestApiForbiddenError):
        return False  # the role may not write variables: every key would fail the same way
    return isinstance(err, (MwaaCliError, commands.InvalidCommandArgumentError, RestApiError))
