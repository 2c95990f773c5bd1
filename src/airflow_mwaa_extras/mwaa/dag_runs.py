"""DAG runs in another MWAA environment: trigger (retry-safe), read state, list failed tasks.

Two transports behind one interface (:mod:`~airflow_mwaa_extras.mwaa.dag_run_transports`):
``rest_api``, MWAA's InvokeRestApi, and ``cli``, the CLI endpoint. Waiting for a run is
:mod:`~airflow_mwaa_extras.mwaa.dag_run_polling`; the run record and the errors are
:mod:`~airflow_mwaa_extras.mwaa.dag_run_types`, re-exported here (this module is the feature's
public entry point).

``transport="auto"`` (the default) uses InvokeRestApi when the installed botocore has it (the
choice is logged once), else the CLI endpoint. When IAM denies InvokeRestApi, that call goes
over the CLI endpoint with a warning naming the missing grant, and the next call tries
InvokeRestApi again (a denial is never turned into a silent switch for good). A REST path longer
than MWAA's 64 characters (a long DAG id) is sent over the CLI endpoint for that call only.

Retry safety, the one trigger path of the operator, ``mwaa-extras trigger`` and the Lambda
handler: :meth:`RemoteDagRuns.trigger` looks the run id up first and returns an existing run;
when the trigger's answer is lost (500/502/504, broken connection, timeout) or Airflow says the
run exists (409, ``DagRunAlreadyExists``), a lookup decides: the run with that id is the same
run. A run id is only ever reused for one run (Airflow refuses a second), so resending a trigger
that a lookup did not find cannot create a duplicate. :func:`deterministic_run_id` derives a run
id from what identifies the triggering task try-independently. No Airflow import.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.mwaa import commands
from airflow_mwaa_extras.mwaa.airflow_command import check_name
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.mwaa.dag_run_transports import CliTransport, DagRunTransport, RestApiTransport
from airflow_mwaa_extras.mwaa.dag_run_types import (
    FAILED_TASK_STATES,
    RemoteDagPausedError,
    RemoteDagRun,
    RemoteDagRunError,
    RemoteDagRunExistsError,
    RemoteDagRunNotFoundError,
)
from airflow_mwaa_extras.mwaa.errors import (
    MwaaCommandMayHaveRunError,
    MwaaThrottledError,
    MwaaUnreachableError,
)
from airflow_mwaa_extras.mwaa.rest_api import (
    MwaaRestApiClient,
    RestApiAccessDeniedError,
    RestApiPathError,
    RestApiUnavailableError,
    supports_invoke_rest_api,
)
from airflow_mwaa_extras.mwaa.supported_commands import parse_airflow_version

# The run record, states and errors are re-exported: callers import everything from here.
__all__ = ["TRANSPORTS", "RemoteDagRuns", "check_transport", "deterministic_run_id"]

TRANSPORTS = ("auto", "rest_api", "cli")
T = TypeVar("T")

log = logging.getLogger(__name__)


def deterministic_run_id(*parts: object, prefix: str = "mx_") -> str:
    """A short run id derived from ``parts`` (e.g. the triggering DAG, task and run ids).

    Short on purpose: InvokeRestApi paths such as ``/dags/{dag_id}/dagRuns/{run_id}`` are
    limited to 64 characters.

    :param parts: values that identify the trigger independently of the task's try number
    :param prefix: prepended to the 13-hex-digit digest
    """
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()
    return f"{prefix}{digest[:13]}"


def check_transport(transport: str) -> None:
    """:class:`UsageError` unless ``transport`` is one of :data:`TRANSPORTS`."""
    if transport not in TRANSPORTS:
        raise UsageError(f"transport must be one of {', '.join(TRANSPORTS)}; got {transport!r}")


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _iso(value: datetime | str | None) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    return str(value)


class RemoteDagRuns:
    """Trigger and follow DAG runs in one remote MWAA environment.

    :param environment_name: the remote MWAA environment
    :param transport: ``auto`` (InvokeRestApi when possible, else the CLI endpoint),
        ``rest_api`` or ``cli``
    :param cli_client: the CLI endpoint client; created (sharing ``mwaa_client``) when None
    :param rest_client: the InvokeRestApi client; created (sharing the CLI client's boto3
        client) when None
    :param mwaa_client: a boto3 ``mwaa`` client for both
    :param region_name: AWS region for clients created here
    :param endpoint_url: MWAA API endpoint for clients created here
    :param logger: where the fallback line goes (an operator passes ``self.log``)
    """

    def __init__(
        self,
        environment_name: str,
        *,
        transport: str = "auto",
        cli_client: MwaaEnvironmentClient | None = None,
        rest_client: MwaaRestApiClient | None = None,
        mwaa_client: Any = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    ) -> None:
        check_transport(transport)
        self.environment_name = environment_name
        self.requested_transport = transport
        self.cli_client = cli_client or MwaaEnvironmentClient(
            environment_name, mwaa_client=mwaa_client, region_name=region_name, endpoint_url=endpoint_url
        )
        self.rest_client = rest_client or MwaaRestApiClient(
            environment_name, mwaa_client=self.cli_client.mwaa_client
        )
        self.log = logger or log
        self._cli = CliTransport(self.cli_client)
        self._rest: RestApiTransport | None = None
        self._use_rest: bool | None = None if transport == "auto" else transport == "rest_api"
        #: which transport answered each call, in order (for tests and for measuring)
        self.calls: list[str] = []

    @property
    def airflow_version(self) -> str:
        return self.cli_client.airflow_version

    @property
    def transport(self) -> str:
        """The transport in use now: ``rest_api`` or ``cli`` (the choice is logged once)."""
        if self._use_rest is None:
            self._use_rest = supports_invoke_rest_api(self.rest_client.mwaa_client)
            why = "botocore has InvokeRestApi" if self._use_rest else "botocore has no InvokeRestApi"
            self.log.info(
                "remote DAG runs in %s go through %s (transport=auto: %s)",
                self.environment_name,
                "InvokeRestApi" if self._use_rest else "the CLI endpoint",
                why,
            )
        return "rest_api" if self._use_rest else "cli"

    def _rest_transport(self) -> RestApiTransport:
        if self._rest is None:
            major = parse_airflow_version(self.airflow_version)[0]
            self._rest = RestApiTransport(self.rest_client, major)
        return self._rest

    def _call(self, operation: Callable[[DagRunTransport], T]) -> T:
        if self.transport == "cli":
            self.calls.append("cli")
            return operation(self._cli)
        auto = self.requested_transport == "auto"
        try:
            result = operation(self._rest_transport())
            self.calls.append("rest_api")
            return result
        except RestApiAccessDeniedError as err:
            if not auto:
                raise
            # This call only: IAM may grant the role later, and a denial must not hide for good.
            self.log.warning("%s; this call goes over the CLI endpoint", err)
        except RestApiUnavailableError as err:
            if not auto:
                raise
            self._use_rest = False
            self.log.warning("%s; using the CLI endpoint for %s", err, self.environment_name)
        except RestApiPathError as err:
            if not auto:
                raise
            self.log.info("%s; sending this call over the CLI endpoint", err)
        self.calls.append("cli")
        return operation(self._cli)

    def get_run(self, dag_id: str, run_id: str) -> RemoteDagRun:
        """The run, or :class:`RemoteDagRunNotFoundError`."""
        run = self.find_run(dag_id, run_id)
        if run is None:
            raise RemoteDagRunNotFoundError(f"no run {run_id!r} of DAG {dag_id!r} in {self.environment_name}")
        return run

    def find_run(self, dag_id: str, run_id: str) -> RemoteDagRun | None:
        """The run, or None when there is none with that id."""
        return self._call(lambda t: t.get_run(dag_id, run_id))

    def trigger(
        self,
        dag_id: str,
        *,
        run_id: str,
        conf: Mapping[str, Any] | None = None,
        logical_date: datetime | str | None = None,
        allow_paused: bool = False,
    ) -> RemoteDagRun:
        """Trigger ``dag_id`` with ``run_id`` unless a run with that id exists already.

        :param dag_id: the remote DAG
        :param run_id: the run id (use :func:`deterministic_run_id` so retries reuse it)
        :param conf: the run's conf (a JSON object)
        :param logical_date: the run's logical date (now, UTC, when None)
        :param allow_paused: trigger even when the remote DAG is paused (the run then waits)
        :raises RemoteDagNotFoundError: no such DAG
        :raises RemoteDagPausedError: the DAG is paused and ``allow_paused`` is False
        """
        if not dag_id or not run_id:
            raise UsageError("a remote DAG id and run id are needed")
        check_name(dag_id, "DAG id")  # before any call
        check_name(run_id, "run id")
        conf_dict = json.loads(commands.conf_json(conf if conf is not None else {}))
        existing = self.find_run(dag_id, run_id)
        if existing is not None:
            self.log.info(
                "run %s of %s already exists in %s (state %s): not triggering again",
                run_id,
                dag_id,
                self.environment_name,
                existing.state,
            )
            return existing
        if not allow_paused and self._paused(dag_id):
            raise RemoteDagPausedError(
                f"DAG {dag_id!r} is paused in {self.environment_name}: a run would never start "
                "(unpause it, or pass allow_paused=True)"
            )
        when = _iso(logical_date) or utc_now_iso()
        lost: MwaaCommandMayHaveRunError | None = None
        for _ in range(3):
            try:
                return self._call(lambda t: t.trigger(dag_id, run_id, conf_dict, when))
            except (MwaaCommandMayHaveRunError, RemoteDagRunExistsError) as err:
                # A lookup decides: a run with our run id is the run we asked for.
                run = self.find_run(dag_id, run_id)
                if run is not None:
                    self.log.info(
                        "run %s of %s exists in %s after %s", run_id, dag_id, self.environment_name, err
                    )
                    return replace(run, created=True)
                if isinstance(err, RemoteDagRunExistsError):
                    raise RemoteDagRunError(
                        f"{err}, but no run {run_id!r} was found: another run has logical date {when}"
                    ) from None
                lost = err
                # Not there (yet): resending with the same run id cannot make a second run.
                self.log.warning("%s; no run %s found: triggering again with the same run id", err, run_id)
        assert lost is not None
        raise lost

    def is_paused(self, dag_id: str) -> bool:
        """Whether the remote DAG is paused; :class:`RemoteDagNotFoundError` when there is none."""
        return self._call(lambda t: t.check_dag(dag_id))

    def _paused(self, dag_id: str) -> bool:
        """Whether the DAG is paused; when the check itself cannot finish (a 504 on a big
        Airflow 2 environment, where ``dags list`` parses every file), say so and go on."""
        try:
            return self._call(lambda t: t.check_dag(dag_id))
        except (MwaaUnreachableError, MwaaThrottledError) as err:
            self.log.warning(
                "could not check whether %s is paused in %s (%s); triggering anyway",
                dag_id,
                self.environment_name,
                err,
            )
            return False

    def state(self, dag_id: str, run_id: str) -> str:
        """The run's state."""
        return self.get_run(dag_id, run_id).state

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        """task id -> state for the run."""
        return self._call(lambda t: t.task_states(dag_id, run_id))

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        """One task's state in the run (None when the run has no such task)."""
        return self.task_states(dag_id, run_id).get(task_id)

    def failed_task_ids(self, dag_id: str, run_id: str) -> list[str]:
        """Sorted ids of the run's failed and upstream-failed tasks."""
        return sorted(t for t, s in self.task_states(dag_id, run_id).items() if s in FAILED_TASK_STATES)
