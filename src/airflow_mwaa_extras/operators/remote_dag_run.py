"""Trigger a DAG in another MWAA environment, retry-safe, and optionally wait for its outcome.

Works on every supported MWAA version: over InvokeRestApi where the installed botocore has it
and the role may call it, else over the CLI endpoint (see
:mod:`airflow_mwaa_extras.mwaa.dag_runs`). Unlike the user guide's sample, a failed remote run
fails this task, with the remote state and the failed task ids in the message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.configuration import conf as airflow_conf

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.hooks.remote_environment_task import RemoteEnvironmentTask
from airflow_mwaa_extras.mwaa.dag_run_polling import check_event, wait_for_run
from airflow_mwaa_extras.mwaa.dag_run_types import RemoteDagRun
from airflow_mwaa_extras.mwaa.dag_runs import deterministic_run_id
from airflow_mwaa_extras.triggers.remote_dag_run import MwaaRemoteDagRunTrigger
from airflow_mwaa_extras.version_compat import BaseOperator

if TYPE_CHECKING:
    from airflow_mwaa_extras.version_compat import Context

XCOM_REMOTE_RUN_ID = "remote_run_id"

__all__ = ["XCOM_REMOTE_RUN_ID", "MwaaTriggerRemoteDagRunOperator"]


def _result(run: RemoteDagRun, *, state: str | None = None, polls: int = 0) -> dict[str, Any]:
    """What the operator returns (its XCom ``return_value``): one shape in every mode.

    ``environment``, ``dag_id``, ``run_id``; ``state``: the final state when the task waited, else
    the state when it triggered; ``logical_date``; ``transport`` (``rest_api`` or ``cli``);
    ``created``: False when the run existed already (a retry); ``polls``: state checks made while
    waiting (0 without waiting).
    """
    return {**run.as_dict(), "state": state or run.state, "polls": polls}


class MwaaTriggerRemoteDagRunOperator(RemoteEnvironmentTask, BaseOperator):
    """Trigger ``remote_dag_id`` in the MWAA environment ``environment_name``.

    The remote run id is pushed to XCom (key ``remote_run_id``); the return value is one dict,
    the same with or without waiting and deferring: ``environment``, ``dag_id``, ``run_id``,
    ``state`` (final when waited for), ``logical_date``, ``transport``, ``created`` and ``polls``
    (see docs/cross-environment.md). A retry of this task never creates a second remote run:
    the run id is deterministic (derived from this DAG, task and run) unless given, and is
    looked up before triggering.

    :param environment_name: the remote MWAA environment (templated)
    :param remote_dag_id: the DAG to trigger there (templated)
    :param conf: the remote run's conf, a dict or a JSON object text (templated)
    :param run_id: the remote run id; derived from this task instance when None (templated)
    :param logical_date: the remote run's logical date, a datetime or ISO text; the trigger
        time when None (templated)
    :param wait_for_completion: wait for the remote run to finish; fail when it fails
    :param poll_interval: seconds between two state checks while waiting
    :param deferrable: wait in the triggerer instead of a worker slot (default:
        ``[operators] default_deferrable``)
    :param transport: ``auto`` (InvokeRestApi when possible, else the CLI endpoint),
        ``rest_api`` or ``cli``
    :param allow_paused: trigger even when the remote DAG is paused
    :param max_wait: give up waiting after this many seconds (None: wait as long as it runs)
    :param aws_conn_id: the ``aws`` connection whose identity calls MWAA
    :param region_name: AWS region (the connection's when None)
    """

    template_fields: Sequence[str] = ("environment_name", "remote_dag_id", "conf", "run_id", "logical_date")
    template_fields_renderers = {"conf": "json"}
    ui_color = "#ffefeb"

    def __init__(
        self,
        *,
        environment_name: str,
        remote_dag_id: str,
        conf: Mapping[str, Any] | str | None = None,
        run_id: str | None = None,
        logical_date: datetime | str | None = None,
        wait_for_completion: bool = False,
        poll_interval: float = 30.0,
        deferrable: bool = airflow_conf.getboolean("operators", "default_deferrable", fallback=False),
        transport: str = "auto",
        allow_paused: bool = False,
        max_wait: float | None = None,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.environment_name = environment_name
        self.remote_dag_id = remote_dag_id
        self.deferrable = deferrable
        self.transport = transport
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.conf = conf
        self.run_id = run_id
        self.logical_date = logical_date
        self.wait_for_completion = wait_for_completion
        self.poll_interval = poll_interval
        self.allow_paused = allow_paused
        self.max_wait = max_wait

    def _remote_run_id(self, context: Context) -> str:
        if self.run_id:
            return str(self.run_id)
        ti = context["ti"]
        # Everything that identifies this task instance except the try number.
        return deterministic_run_id(
            self.environment_name,
            self.remote_dag_id,
            ti.dag_id,
            ti.task_id,
            ti.run_id,
            getattr(ti, "map_index", -1),
        )

    def _validate(self) -> None:
        if not self.environment_name or not self.remote_dag_id:
            raise UsageError("environment_name and remote_dag_id are required")
        if float(self.poll_interval) <= 0:
            raise UsageError(f"poll_interval must be positive, got {self.poll_interval}")

    def execute(self, context: Context) -> dict[str, Any]:
        self._validate()
        run_id = self._remote_run_id(context)
        run = self.remote.trigger(
            self.remote_dag_id,
            run_id=run_id,
            conf=self.conf,  # type: ignore[arg-type]  # a JSON text is accepted too
            logical_date=self.logical_date,
            allow_paused=self.allow_paused,
        )
        context["ti"].xcom_push(key=XCOM_REMOTE_RUN_ID, value=run.run_id)
        verb = "triggered" if run.created else "found existing"
        self.log.info(
            "%s run %s of %s in %s over %s (state %s)",
            verb,
            run.run_id,
            self.remote_dag_id,
            self.environment_name,
            run.transport or self.remote.transport,
            run.state,
        )
        if not self.wait_for_completion:
            return _result(run)
        if self.deferrable:
            self.defer(
                trigger=MwaaRemoteDagRunTrigger.for_task(
                    self,
                    dag_id=self.remote_dag_id,
                    run_id=run.run_id,
                    poll_interval=self.poll_interval,
                    transport=self.remote.transport,
                ),
                method_name="execute_complete",
                # handed back to execute_complete, which returns the same shape as execute
                kwargs={"run": run.as_dict()},
                timeout=timedelta(seconds=self.max_wait) if self.max_wait else None,
            )
        event = wait_for_run(
            self.remote,
            self.remote_dag_id,
            run.run_id,
            poll_interval=float(self.poll_interval),
            max_wait=self.max_wait,
        )
        return _result(run, state=event["state"], polls=event["polls"])

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, run: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Resume after the trigger fired: succeed, or fail with the remote state and tasks.

        :param event: the trigger's event
        :param run: the run as ``execute`` knew it (``defer(kwargs=...)``; ``airflow dags test``
            does not hand it back, and the event's facts stand in, ``created`` unknown)
        """
        checked = check_event(event)
        self.log.info(
            "remote run %s of %s in %s ended %s after %s polls",
            checked.get("run_id"),
            checked.get("dag_id"),
            checked.get("environment"),
            checked.get("state"),
            checked.get("polls"),
        )
        polls = int(checked.get("polls") or 0)
        if run is not None:
            return _result(RemoteDagRun(**run), state=str(checked["state"]), polls=polls)
        # `airflow dags test` resumes with the event only (it drops defer's kwargs): the poll's
        # facts stand in, and whether this task created the run is not known.
        seen = RemoteDagRun(
            environment=str(checked["environment"]),
            dag_id=str(checked["dag_id"]),
            run_id=str(checked["run_id"]),
            state=str(checked["state"]),
            logical_date=checked.get("logical_date"),
            transport=str(checked.get("transport") or ""),
        )
        return {**_result(seen, polls=polls), "created": None}
