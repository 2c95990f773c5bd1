"""A deferrable trigger that waits for a DAG run (or one of its tasks) in another MWAA environment.

It polls with the same :class:`~airflow_mwaa_extras.mwaa.dag_runs.RemoteDagRuns` (from
:meth:`~airflow_mwaa_extras.hooks.mwaa_environment.MwaaEnvironmentHook.get_remote_dag_runs`) and
the same :func:`~airflow_mwaa_extras.mwaa.dag_run_polling.check_remote` as the operator and the
sensor, in a worker thread of the triggerer so its event loop never blocks, and holds no worker
slot while it waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow_mwaa_extras.hooks.remote_environment_task import RemoteEnvironmentTask
from airflow_mwaa_extras.mwaa.dag_run_polling import check_remote
from airflow_mwaa_extras.mwaa.errors import MwaaError
from airflow_mwaa_extras.version_compat import BaseTrigger, TriggerEvent

__all__ = ["MwaaRemoteDagRunTrigger"]


class MwaaRemoteDagRunTrigger(RemoteEnvironmentTask, BaseTrigger):
    """Poll a remote DAG run until it (or ``task_id``) finishes.

    :param environment_name: the remote MWAA environment
    :param dag_id: the remote DAG
    :param run_id: the remote run id
    :param task_id: wait for this task of the run instead of the whole run
    :param poll_interval: seconds between polls
    :param aws_conn_id: the ``aws`` connection whose identity calls MWAA
    :param region_name: AWS region (the connection's when None)
    :param transport: ``auto``, ``rest_api`` or ``cli``
    """

    def __init__(
        self,
        *,
        environment_name: str,
        dag_id: str,
        run_id: str,
        task_id: str | None = None,
        poll_interval: float = 30.0,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        transport: str = "auto",
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.environment_name = environment_name
        self.dag_id = dag_id
        self.run_id = run_id
        self.task_id = task_id
        self.poll_interval = float(poll_interval)
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.transport = transport
        #: polls made so far (each one or two MWAA calls)
        self.polls = 0

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "environment_name": self.environment_name,
                "dag_id": self.dag_id,
                "run_id": self.run_id,
                "task_id": self.task_id,
                "poll_interval": self.poll_interval,
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "transport": self.transport,
            },
        )

    @classmethod
    def for_task(
        cls,
        task: RemoteEnvironmentTask,
        *,
        dag_id: str,
        run_id: str,
        task_id: str | None = None,
        poll_interval: float,
        transport: str,
    ) -> MwaaRemoteDagRunTrigger:
        """A trigger that reaches the environment the way ``task`` does, over ``transport``."""
        return cls(
            environment_name=task.environment_name,
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            poll_interval=poll_interval,
            aws_conn_id=task.aws_conn_id,
            region_name=task.region_name,
            transport=transport,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            runs = await asyncio.to_thread(getattr, self, "remote")  # builds boto3 clients: off the loop
            while True:
                self.polls += 1
                event = await asyncio.to_thread(check_remote, runs, self.dag_id, self.run_id, self.task_id)
                if event is not None:
                    yield TriggerEvent({**event, "polls": self.polls})
                    return
                await asyncio.sleep(self.poll_interval)
        except MwaaError as err:
            yield TriggerEvent(
                {
                    "status": "error",
                    "message": str(err),
                    "environment": self.environment_name,
                    "dag_id": self.dag_id,
                    "run_id": self.run_id,
                    "polls": self.polls,
                }
            )
