"""A deferrable trigger that waits for a DAG run (or one of its tasks) in another MWAA environment.

It polls with the same :class:`~airflow_mwaa_extras.mwaa.dag_runs.RemoteDagRuns` the operator
uses (InvokeRestApi or the CLI endpoint), in a worker thread of the triggerer so its event loop
never blocks, and holds no worker slot while it waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.mwaa.dag_runs import FAILED_TASK_STATES, RemoteDagRuns
from airflow_mwaa_extras.mwaa.errors import MwaaError
from airflow_mwaa_extras.version_compat import BaseTrigger, TriggerEvent

if TYPE_CHECKING:
    import logging

TASK_DONE_STATES = frozenset({"success", "skipped"})


def remote_dag_runs(
    environment_name: str,
    *,
    aws_conn_id: str | None = "aws_default",
    region_name: str | None = None,
    transport: str = "auto",
    logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
) -> RemoteDagRuns:
    """:class:`RemoteDagRuns` for ``environment_name`` with the identity of an ``aws`` connection."""
    from airflow_mwaa_extras.hooks.mwaa_environment import MwaaEnvironmentHook
    from airflow_mwaa_extras.mwaa.rest_api import MwaaRestApiClient

    hook = MwaaEnvironmentHook(aws_conn_id=aws_conn_id, region_name=region_name)
    cli = hook.get_environment_client(environment_name)
    rest = MwaaRestApiClient(environment_name, mwaa_client=hook.mwaa_client)
    return RemoteDagRuns(
        environment_name, transport=transport, cli_client=cli, rest_client=rest, logger=logger
    )


def check_remote(runs: RemoteDagRuns, dag_id: str, run_id: str, task_id: str | None) -> dict[str, Any] | None:
    """One poll: an event payload when the wait is over, None to keep waiting.

    ``status`` is ``success`` or ``failed``; ``state`` the run's (or the task's) state;
    ``failed_task_ids`` the run's failed tasks when it failed.
    """
    base = {"environment": runs.environment_name, "dag_id": dag_id, "run_id": run_id, "task_id": task_id}
    run = runs.get_run(dag_id, run_id)
    if task_id is not None:
        state = runs.task_state(dag_id, run_id, task_id)
        if state in TASK_DONE_STATES:
            return {**base, "status": "success", "state": state, "failed_task_ids": []}
        if state in FAILED_TASK_STATES or (run.finished and state not in TASK_DONE_STATES):
            return {**base, "status": "failed", "state": state or "missing", "failed_task_ids": [task_id]}
        return None
    if not run.finished:
        return None
    if run.state == "success":
        return {**base, "status": "success", "state": run.state, "failed_task_ids": []}
    return {
        **base,
        "status": "failed",
        "state": run.state,
        "failed_task_ids": runs.failed_task_ids(dag_id, run_id),
    }


class MwaaRemoteDagRunTrigger(BaseTrigger):
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

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            runs = await asyncio.to_thread(
                remote_dag_runs,
                self.environment_name,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                transport=self.transport,
                logger=self.log,
            )
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
