"""What the remote DAG run operator and sensor share (not a task on its own).

:class:`~airflow_mwaa_extras.operators.remote_dag_run.MwaaTriggerRemoteDagRunOperator` and
:class:`~airflow_mwaa_extras.sensors.remote_dag_run.MwaaRemoteDagRunSensor` talk to the remote
environment the same way: the same :class:`~airflow_mwaa_extras.mwaa.dag_runs.RemoteDagRuns`
from an ``aws`` connection, the same transport check, the same trigger when they defer, and the
same reading of the trigger's event.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.mwaa.dag_runs import (
    TRANSPORTS,
    RemoteDagRunError,
    RemoteDagRunFailedError,
    RemoteDagRuns,
)
from airflow_mwaa_extras.triggers.remote_dag_run import MwaaRemoteDagRunTrigger, remote_dag_runs

if TYPE_CHECKING:
    import logging


def default_deferrable() -> bool:
    """``[operators] default_deferrable`` (False when unset)."""
    from airflow.configuration import conf

    return conf.getboolean("operators", "default_deferrable", fallback=False)


def check_event(event: Mapping[str, Any] | None) -> dict[str, Any]:
    """The trigger's event, or the error it reports, raised as a clear task failure."""
    if not event or "status" not in event:
        raise RemoteDagRunError(f"the remote DAG run trigger sent no usable event: {event!r}")
    if event["status"] == "error":
        raise RemoteDagRunError(str(event.get("message") or "the remote DAG run trigger failed"))
    if event["status"] != "success":
        raise RemoteDagRunFailedError(
            str(event.get("environment")),
            str(event.get("dag_id")),
            str(event.get("run_id")),
            str(event.get("state")),
            list(event.get("failed_task_ids") or []),
        )
    return dict(event)


class RemoteDagRunTaskMixin:
    """The remote side of a task that triggers or waits for a DAG run in another environment.

    Put it before the Airflow base class (``class X(RemoteDagRunTaskMixin, BaseOperator)``);
    ``__init__`` calls :meth:`_assign_remote` with its arguments.
    """

    environment_name: str
    remote_dag_id: str
    deferrable: bool
    transport: str
    aws_conn_id: str | None
    region_name: str | None

    if TYPE_CHECKING:

        @property
        def log(self) -> logging.Logger: ...

    def _assign_remote(
        self,
        *,
        environment_name: str,
        remote_dag_id: str,
        deferrable: bool | None,
        transport: str,
        aws_conn_id: str | None,
        region_name: str | None,
    ) -> None:
        self.environment_name = environment_name
        self.remote_dag_id = remote_dag_id
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.transport = transport
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name

    @cached_property
    def remote(self) -> RemoteDagRuns:
        return remote_dag_runs(
            self.environment_name,
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            transport=self.transport,
            logger=self.log,
        )

    def _validate_transport(self) -> None:
        if self.transport not in TRANSPORTS:
            raise UsageError(f"transport must be one of {', '.join(TRANSPORTS)}; got {self.transport!r}")

    def _remote_trigger(
        self, run_id: str, poll_interval: float, task_id: str | None = None
    ) -> MwaaRemoteDagRunTrigger:
        """The trigger that waits for ``run_id`` (or ``task_id`` in it) over the transport in use."""
        return MwaaRemoteDagRunTrigger(
            environment_name=self.environment_name,
            dag_id=self.remote_dag_id,
            run_id=run_id,
            task_id=task_id,
            poll_interval=poll_interval,
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            transport=self.remote.transport,
        )
