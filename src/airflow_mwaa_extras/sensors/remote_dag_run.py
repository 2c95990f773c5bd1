"""Wait for a DAG run (or one of its tasks) in another MWAA environment.

Supports ``mode="poke"``, ``mode="reschedule"`` (no worker slot between pokes) and
``deferrable=True`` (the wait runs in the triggerer, after one poke here).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.configuration import conf as airflow_conf

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.hooks.remote_environment_task import RemoteEnvironmentTask
from airflow_mwaa_extras.mwaa.dag_run_polling import check_event, check_remote
from airflow_mwaa_extras.triggers.remote_dag_run import MwaaRemoteDagRunTrigger
from airflow_mwaa_extras.version_compat import BaseSensorOperator

if TYPE_CHECKING:
    from airflow_mwaa_extras.version_compat import Context

__all__ = ["MwaaRemoteDagRunSensor"]


class MwaaRemoteDagRunSensor(RemoteEnvironmentTask, BaseSensorOperator):
    """Succeed when a remote DAG run (or ``remote_task_id`` in it) succeeds; fail when it fails.

    :param environment_name: the remote MWAA environment (templated)
    :param remote_dag_id: the remote DAG (templated)
    :param run_id: the remote run id, e.g.
        ``"{{ ti.xcom_pull(task_ids='trigger', key='remote_run_id') }}"`` (templated)
    :param remote_task_id: wait for this task of the run instead of the whole run (templated)
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``)
    :param transport: ``auto``, ``rest_api`` or ``cli``
    :param aws_conn_id: the ``aws`` connection whose identity calls MWAA
    :param region_name: AWS region (the connection's when None)
    """

    template_fields: Sequence[str] = ("environment_name", "remote_dag_id", "run_id", "remote_task_id")

    def __init__(
        self,
        *,
        environment_name: str,
        remote_dag_id: str,
        run_id: str,
        remote_task_id: str | None = None,
        deferrable: bool = airflow_conf.getboolean("operators", "default_deferrable", fallback=False),
        transport: str = "auto",
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.environment_name = environment_name
        self.remote_dag_id = remote_dag_id
        self.run_id = run_id
        self.remote_task_id = remote_task_id
        self.deferrable = deferrable
        self.transport = transport
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name

    def _validate(self) -> None:
        if not self.environment_name or not self.remote_dag_id or not self.run_id:
            raise UsageError("environment_name, remote_dag_id and run_id are required")

    def execute(self, context: Context) -> Any:
        self._validate()
        if not self.deferrable:
            return super().execute(context)
        # One poke first: a run that already finished needs no trip through the triggerer.
        if self.poke(context):
            return None
        self.defer(
            trigger=MwaaRemoteDagRunTrigger.for_task(
                self,
                dag_id=self.remote_dag_id,
                run_id=self.run_id,
                task_id=self.remote_task_id,
                poll_interval=self.poke_interval,
                transport=self.remote.transport,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def poke(self, context: Context) -> bool:
        self._validate()
        event = check_remote(self.remote, self.remote_dag_id, self.run_id, self.remote_task_id)
        if event is None:
            self.log.info("remote run %s of %s is not finished yet", self.run_id, self.remote_dag_id)
            return False
        check_event(event)
        return True

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        """Resume after the trigger fired: succeed, or fail with the remote state."""
        checked = check_event(event)
        self.log.info(
            "remote %s of %s in %s ended %s after %s polls",
            f"task {self.remote_task_id}" if self.remote_task_id else f"run {self.run_id}",
            self.remote_dag_id,
            self.environment_name,
            checked.get("state"),
            checked.get("polls"),
        )
