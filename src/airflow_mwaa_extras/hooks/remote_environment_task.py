"""What the remote DAG run operator, sensor and trigger share: the environment they reach.

The hook is imported when a task first needs it, not when a DAG file imports the task: DAG
parsing never pays for the amazon provider and boto3.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging

    from airflow_mwaa_extras.mwaa.dag_runs import RemoteDagRuns

__all__ = ["RemoteEnvironmentTask"]


class RemoteEnvironmentTask:
    """A mixin for tasks and triggers with ``environment_name``, ``transport``, ``aws_conn_id``,
    ``region_name`` and a ``log``: :attr:`remote` is their :class:`RemoteDagRuns`."""

    environment_name: str
    transport: str
    aws_conn_id: str | None
    region_name: str | None
    log: logging.Logger

    @cached_property
    def remote(self) -> RemoteDagRuns:
        """Trigger and follow runs in ``environment_name`` (made on first use, then kept)."""
        from airflow_mwaa_extras.hooks.mwaa_environment import MwaaEnvironmentHook

        hook = MwaaEnvironmentHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name)
        return hook.get_remote_dag_runs(self.environment_name, transport=self.transport, logger=self.log)
