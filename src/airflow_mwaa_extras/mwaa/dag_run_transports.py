"""The two ways to reach DAG runs in another MWAA environment, behind one :class:`DagRunTransport`.

- :class:`CliTransport`: the CLI endpoint
  (:class:`~airflow_mwaa_extras.mwaa.client.MwaaEnvironmentClient`) with the command builders of
  :mod:`~airflow_mwaa_extras.mwaa.commands`;
- :class:`RestApiTransport`: MWAA's InvokeRestApi
  (:class:`~airflow_mwaa_extras.mwaa.rest_api.MwaaRestApiClient`) with the Airflow REST API's
  paths (``/api/v1`` semantics on Airflow 2, ``/api/v2`` on Airflow 3, where a DAG run needs
  ``logical_date``).

Each call is one request (or one CLI command) and maps the remote answer to a
:class:`~airflow_mwaa_extras.mwaa.dag_run_types.RemoteDagRun` or an error of that module; which
transport to use, and retry safety, are :class:`~airflow_mwaa_extras.mwaa.dag_runs.RemoteDagRuns`'
job. No Airflow import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote

from airflow_mwaa_extras.mwaa import commands
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.mwaa.dag_run_types import (
    FAILED_TASK_STATES,
    RemoteDagNotFoundError,
    RemoteDagRun,
    RemoteDagRunExistsError,
)
from airflow_mwaa_extras.mwaa.errors import MwaaCliError
from airflow_mwaa_extras.mwaa.rest_api import MwaaRestApiClient, RestApiConflictError, RestApiNotFoundError

__all__ = ["CliTransport", "DagRunTransport", "RestApiTransport"]

_PAGE = 100
# What Airflow prints when the run exists (the CLI's DagRunAlreadyExists, or the unique index).
_EXISTS_MARKERS = ("DagRunAlreadyExists", "already exists", "UniqueViolation", "IntegrityError")


class DagRunTransport(Protocol):
    """One way to read and trigger DAG runs in one remote environment."""

    #: ``cli`` or ``rest_api``
    name: str

    @property
    def environment(self) -> str:
        """The remote MWAA environment's name."""
        ...

    def check_dag(self, dag_id: str) -> bool:
        """Whether the DAG is paused; :class:`RemoteDagNotFoundError` when it does not exist."""
        ...

    def get_run(self, dag_id: str, run_id: str) -> RemoteDagRun | None:
        """The run, or None when there is none with that id."""
        ...

    def trigger(
        self, dag_id: str, run_id: str, conf: Mapping[str, Any], logical_date: str | None
    ) -> RemoteDagRun:
        """Create the run; :class:`RemoteDagRunExistsError` when Airflow says it exists."""
        ...

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        """task id -> state for the run."""
        ...


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
        cmd = commands.dags_list()
        dags = self.client.run(cmd).parsed_json()
        for dag in dags if isinstance(dags, list) else []:
            if isinstance(dag, dict) and dag.get("dag_id") == dag_id:
                return str(dag.get("is_paused")).lower() == "true"
        raise RemoteDagNotFoundError(f"DAG {dag_id!r} does not exist in {self.environment}")

    def get_run(self, dag_id: str, run_id: str) -> RemoteDagRun | None:
        version = self.client.airflow_version
        cmd = commands.dags_list_runs(dag_id, airflow_version=version)
        try:
            runs = self.client.run(cmd).parsed_json()
        except MwaaCliError as err:
            if "does not exist in 'dag' table" in err.stderr:
                raise RemoteDagNotFoundError(f"DAG {dag_id!r} does not exist in {self.environment}") from None
            raise
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
        cmd = commands.tasks_states_for_dag_run(dag_id, run_id)
        rows = self.client.run(cmd).parsed_json()
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
