"""What the remote DAG run modules share: the run record, its states and the errors.

:mod:`~airflow_mwaa_extras.mwaa.dag_runs` (trigger and follow runs),
:mod:`~airflow_mwaa_extras.mwaa.dag_run_transports` (the CLI endpoint and InvokeRestApi) and
:mod:`~airflow_mwaa_extras.mwaa.dag_run_polling` (waiting for a run) all use them, and so do
callers that catch the errors: import them from here. No Airflow import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_mwaa_extras.mwaa.errors import MwaaError

__all__ = [
    "FAILED_TASK_STATES",
    "TERMINAL_STATES",
    "RemoteDagNotFoundError",
    "RemoteDagPausedError",
    "RemoteDagRun",
    "RemoteDagRunError",
    "RemoteDagRunExistsError",
    "RemoteDagRunFailedError",
    "RemoteDagRunNotFoundError",
]

TERMINAL_STATES = frozenset({"success", "failed"})
FAILED_TASK_STATES = ("failed", "upstream_failed")


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
