"""DAG runs in another MWAA environment: trigger (retry-safe), read state, list failed tasks.

Two transports behind one interface:

- ``rest_api``: MWAA's InvokeRestApi (:mod:`~airflow_mwaa_extras.mwaa.rest_api`) with the
  Airflow REST API's paths (``/api/v1`` semantics on Airflow 2, ``/api/v2`` on Airflow 3, where a
  DAG run needs ``logical_date``);
- ``cli``: the CLI endpoint (:class:`~airflow_mwaa_extras.mwaa.client.MwaaEnvironmentClient`)
  with the command builders of :mod:`~airflow_mwaa_extras.mwaa.commands`.

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
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.mwaa import commands
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.mwaa.errors import (
    MwaaCliError,
    MwaaCommandMayHaveRunError,
    MwaaError,
    MwaaProtocolError,
    MwaaThrottledError,
    MwaaUnreachableError,
)
from airflow_mwaa_extras.mwaa.rest_api import (
    MwaaRestApiClient,
    RestApiAccessDeniedError,
    RestApiConflictError,
    RestApiNotFoundError,
    RestApiPathError,
    RestApiUnavailableError,
    supports_invoke_rest_api,
)

TRANSPORTS = ("auto", "rest_api", "cli")
TERMINAL_STATES = frozenset({"success", "failed"})
FAILED_TASK_STATES = ("failed", "upstream_failed")
_PAGE = 100
T = TypeVar("T")

log = logging.getLogger(__name__)


class RemoteDagRunError(MwaaError):
    """A remote DAG run cannot be triggered or read."""


class RemoteDagNotFoundError(RemoteDagRunError):
    """The DAG does not exist in the remote environment (or is not parsed yet)."""


class RemoteDagPausedError(RemoteDagRunError):
    """The remote DAG is paused: a run would stay queued forever."""


class RemoteDagRunNotFoundError(RemoteDagRunError):
    """No run with that id exists for the remote DAG."""


class RemoteDagRunExistsError(RemoteDagRunError):
    """Airflow refused the trigger: a run with that id (or logical date) exists already."""


# What Airflow prints when the run exists (the CLI's DagRunAlreadyExists, or the unique index).
_EXISTS_MARKERS = ("DagRunAlreadyExists", "already exists", "UniqueViolation", "IntegrityError")


class RemoteDagRunFailedError(RemoteDagRunError):
    """The remote DAG run ended in a state other than ``success``.

    :param environment: the remote environment
    :param dag_id: the remote DAG
    :param run_id: the remote run id
    :param state: its final state
    :param failed_task_ids: the task ids that failed (or were upstream-failed)
    """

    def __init__(
        self, environment: str, dag_id: str, run_id: str, state: str, failed_task_ids: list[str]
    ) -> None:
        self.environment = environment
        self.dag_id = dag_id
        self.run_id = run_id
        self.state = state
        self.failed_task_ids = list(failed_task_ids)
        tasks = ", ".join(failed_task_ids) if failed_task_ids else "none reported"
        super().__init__(
            f"remote DAG run {dag_id}/{run_id} in {environment} ended {state}; failed tasks: {tasks}"
        )


@dataclass(frozen=True)
class RemoteDagRun:
    """One DAG run in a remote environment.

    :param environment: the MWAA environment name
    :param dag_id: the DAG id
    :param run_id: the run id
    :param state: ``queued``, ``running``, ``success`` or ``failed``
    :param logical_date: ISO logical (execution) date, when the run has one
    :param conf: the run's conf (the CLI endpoint does not report it: None there)
    :param transport: ``rest_api`` or ``cli``: how it was read
    :param created: True when this call triggered it, False when it already existed
    """

    environment: str
    dag_id: str
    run_id: str
    state: str
    logical_date: str | None = None
    conf: dict[str, Any] | None = None
    transport: str = ""
    created: bool = False

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_STATES

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict (for XCom and Lambda results)."""
        return {
            "environment": self.environment,
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "state": self.state,
            "logical_date": self.logical_date,
            "transport": self.transport,
            "created": self.created,
        }


def deterministic_run_id(*parts: object, prefix: str = "mx_") -> str:
    """A short run id derived from ``parts`` (e.g. the triggering DAG, task and run ids).

    Short on purpose: InvokeRestApi paths such as ``/dags/{dag_id}/dagRuns/{run_id}`` are
    limited to 64 characters.

    :param parts: values that identify the trigger independently of the task's try number
    :param prefix: prepended to the 13-hex-digit digest
    """
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()
    return f"{prefix}{digest[:13]}"


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


def _json_from_cli(stdout: str, what: str) -> Any:
    """The JSON document in a CLI command's stdout (``--output json``); ``[]`` for "No data found".

    Airflow 3 writes log lines (``2025-... [info     ] ...``) to stdout before the document, so
    the document is the first line that parses as JSON from its start to the end of the output.
    """
    text = stdout.strip()
    if not text or text.startswith("No data found"):
        return []
    decoder = json.JSONDecoder()
    offset = 0
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        if stripped[:1] in ("[", "{"):
            start = offset + len(line) - len(stripped)
            try:
                value, _end = decoder.raw_decode(text, start)
                return value
            except json.JSONDecodeError:
                pass
        elif stripped.startswith("No data found"):
            return []
        offset += len(line)
    raise MwaaProtocolError(f"{what}: expected JSON output, got {text[:80]!r}")


# --- transports ----------------------------------------------------------------------------


class CliTransport:
    """Remote DAG runs over the CLI endpoint (``dags trigger``, ``dags list-runs``...)."""

    name = "cli"

    def __init__(self, client: MwaaEnvironmentClient) -> None:
        self.client = client

    @property
    def environment(self) -> str:
        return self.client.environment_name

    def check_dag(self, dag_id: str) -> bool:
        """Whether the DAG is paused; raises when it does not exist.

        MWAA's CLI endpoint has no command that reads one DAG's ``is_paused`` from the metadata
        DB (``dags details`` is not on its list): ``dags list`` does so on Airflow 3, and parses
        every DAG file on Airflow 2. Its JSON decides, so an unrelated broken DAG file does not
        fail it (see :func:`commands.dags_list`).
        """
        cmd = commands.dags_list(airflow_version=self.client.airflow_version)
        dags = _json_from_cli(self.client.run(cmd).stdout, "dags list")
        for dag in dags if isinstance(dags, list) else []:
            if isinstance(dag, dict) and dag.get("dag_id") == dag_id:
                return str(dag.get("is_paused")).lower() == "true"
        raise RemoteDagNotFoundError(f"DAG {dag_id!r} does not exist in {self.environment}")

    def get_run(self, dag_id: str, run_id: str) -> RemoteDagRun | None:
        version = self.client.airflow_version
        cmd = commands.dags_list_runs(dag_id, airflow_version=version)
        try:
            stdout = self.client.run(cmd).stdout
        except MwaaCliError as err:
            if "does not exist in 'dag' table" in err.stderr:
                raise RemoteDagNotFoundError(f"DAG {dag_id!r} does not exist in {self.environment}") from None
            raise
        runs = _json_from_cli(stdout, "dags list-runs")
        for run in runs if isinstance(runs, list) else []:
            if isinstance(run, dict) and run.get("run_id") == run_id:
                logical = run.get("logical_date") or run.get("execution_date") or None
                return RemoteDagRun(
                    environment=self.environment,
                    dag_id=dag_id,
                    run_id=run_id,
                    state=str(run.get("state") or "queued"),
                    logical_date=logical,
                    transport=self.name,
                )
        return None

    def trigger(
        self, dag_id: str, run_id: str, conf: Mapping[str, Any], logical_date: str | None
    ) -> RemoteDagRun:
        cmd = commands.dags_trigger(
            dag_id,
            airflow_version=self.client.airflow_version,
            conf=conf,
            run_id=run_id,
            logical_date=logical_date,
        )
        try:
            self.client.run(cmd)
        except MwaaCliError as err:
            if any(marker in err.stderr for marker in _EXISTS_MARKERS):
                raise RemoteDagRunExistsError(
                    f"run {run_id} of {dag_id} exists in {self.environment}"
                ) from None
            raise
        # Each CLI command costs seconds: the run is described from what was sent instead of
        # listing runs again (a failed trigger raised above).
        return RemoteDagRun(
            environment=self.environment,
            dag_id=dag_id,
            run_id=run_id,
            state="queued",
            logical_date=logical_date,
            conf=dict(conf),
            transport=self.name,
            created=True,
        )

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        cmd = commands.tasks_states_for_dag_run(dag_id, run_id, airflow_version=self.client.airflow_version)
        rows = _json_from_cli(self.client.run(cmd).stdout, "tasks states-for-dag-run")
        states: dict[str, str] = {}
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and row.get("task_id"):
                states[str(row["task_id"])] = str(row.get("state") or "none")
        return states


class RestApiTransport:
    """Remote DAG runs over InvokeRestApi and the Airflow REST API."""

    name = "rest_api"

    def __init__(self, rest: MwaaRestApiClient, airflow_major: int) -> None:
        self.rest = rest
        self.airflow_major = airflow_major

    @property
    def environment(self) -> str:
        return self.rest.environment_name

    def check_dag(self, dag_id: str) -> bool:
        try:
            dag = self.rest.get(f"/dags/{quote(dag_id, safe='')}")
        except RestApiNotFoundError:
            raise RemoteDagNotFoundError(f"DAG {dag_id!r} does not exist in {self.environment}") from None
        return bool(dag.get("is_paused")) if isinstance(dag, dict) else False

    def _run(self, dag_id: str, payload: Mapping[str, Any], created: bool = False) -> RemoteDagRun:
        logical = payload.get("logical_date") or payload.get("execution_date") or None
        conf = payload.get("conf")
        return RemoteDagRun(
            environment=self.environment,
            dag_id=dag_id,
            run_id=str(payload.get("dag_run_id")),
            state=str(payload.get("state") or "queued"),
            logical_date=logical,
            conf=conf if isinstance(conf, dict) else None,
            transport=self.name,
            created=created,
        )

    def get_run(self, dag_id: str, run_id: str) -> RemoteDagRun | None:
        try:
            payload = self.rest.get(f"/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}")
        except RestApiNotFoundError:
            return None
        return self._run(dag_id, payload)

    def trigger(
        self, dag_id: str, run_id: str, conf: Mapping[str, Any], logical_date: str | None
    ) -> RemoteDagRun:
        body: dict[str, Any] = {"dag_run_id": run_id, "conf": dict(conf)}
        if logical_date is not None or self.airflow_major >= 3:
            body["logical_date"] = logical_date  # required (nullable) on Airflow 3
        try:
            result = self.rest.invoke("POST", f"/dags/{quote(dag_id, safe='')}/dagRuns", body=body)
        except RestApiNotFoundError:
            raise RemoteDagNotFoundError(f"DAG {dag_id!r} does not exist in {self.environment}") from None
        except RestApiConflictError:
            raise RemoteDagRunExistsError(f"run {run_id} of {dag_id} exists in {self.environment}") from None
        return self._run(dag_id, result.body, created=True)

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        states: dict[str, str] = {}
        offset = 0
        while True:
            body = {"dag_ids": [dag_id], "dag_run_ids": [run_id], "page_offset": offset, "page_limit": _PAGE}
            page = self.rest.invoke("POST", "/dags/~/dagRuns/~/taskInstances/list", body=body).body or {}
            items = page.get("task_instances") or []
            for item in items:
                task = str(item.get("task_id"))
                if item.get("map_index", -1) not in (-1, None):
                    # a mapped task fails if any of its instances failed
                    if states.get(task) in FAILED_TASK_STATES:
                        continue
                states[task] = str(item.get("state") or "none")
            offset += len(items)
            if not items or offset >= int(page.get("total_entries") or 0):
                return states


# --- the interface -------------------------------------------------------------------------


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
        if transport not in TRANSPORTS:
            raise UsageError(f"transport must be one of {', '.join(TRANSPORTS)}; got {transport!r}")
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
            major = commands.parse_airflow_version(self.airflow_version)[0]
            self._rest = RestApiTransport(self.rest_client, major)
        return self._rest

    def _call(self, operation: Callable[[CliTransport | RestApiTransport], T]) -> T:
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
        commands.check_name(dag_id, "DAG id")  # before any call
        commands.check_name(run_id, "run id")
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

    def raise_if_failed(self, run: RemoteDagRun) -> None:
        """Raise :class:`RemoteDagRunFailedError` for a finished run that did not succeed."""
        if run.finished and run.state != "success":
            raise RemoteDagRunFailedError(
                self.environment_name,
                run.dag_id,
                run.run_id,
                run.state,
                self.failed_task_ids(run.dag_id, run.run_id),
            )
