"""An AWS Lambda handler that triggers a DAG in an MWAA environment (no Airflow needed).

Handler: ``airflow_mwaa_extras.lambda_handler.handler``. Settings come from the event, then
from environment variables:

====================  ==========================  ===========================================
event key             environment variable        meaning
====================  ==========================  ===========================================
``environment``       ``MWAA_ENVIRONMENT``        the MWAA environment name (required)
``dag_id``            ``MWAA_DAG_ID``             the DAG to trigger (required)
``conf``              ``MWAA_CONF``               the run's conf, an object (JSON text in the variable)
``run_id``            (none)                      the run id (default ``lambda__<aws_request_id>``,
                                                  the same in Lambda's retries of one event)
(none)                ``MWAA_AIRFLOW_VERSION``    skip GetEnvironment (the role then needs only
                                                  ``airflow:CreateCliToken``)
(none)                ``MWAA_TIMEOUT``            seconds to wait for one command (60); never
                                                  past the function's remaining time minus 1 s
(none)                ``MWAA_TRANSPORT``          ``auto`` (default), ``rest_api`` or ``cli``
(none)                ``MWAA_CHECK_PAUSED=true``  refuse a paused DAG (costs one more command)
(none)                ``MWAA_PASS_EVENT=true``    without ``conf`` in the event, send the whole
                                                  event as ``{"event": ...}``
====================  ==========================  ===========================================

It returns ``{"ok": true, "environment", "dag_id", "run_id", "airflow_version", "created"}``. A
permanent failure (bad input, unknown environment, missing permission, the command failed)
returns ``{"ok": false, "error": <exception name>, "message": <one line>}``; a transient one (web
server unreachable or busy, or a trigger whose answer was lost) raises, so Lambda's own retry for
asynchronous invocations applies. That retry is safe: it carries the same ``aws_request_id``, so
the same run id, and the trigger (:meth:`~airflow_mwaa_extras.mwaa.dag_runs.RemoteDagRuns.trigger`,
the operator's and ``mwaa-extras trigger``'s too) looks the run up before triggering.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError
from airflow_mwaa_extras.mwaa import commands
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.mwaa.dag_runs import RemoteDagRuns
from airflow_mwaa_extras.mwaa.errors import (
    MwaaCommandMayHaveRunError,
    MwaaThrottledError,
    MwaaUnreachableError,
)

# Warm invocations reuse the client, and with it the CLI token while it is fresh.
_CLIENTS: dict[str, MwaaEnvironmentClient] = {}
#: seconds kept back from the function's remaining time, to return (or raise) before Lambda kills it
TIME_MARGIN_SECONDS = 1.0


def _setting(event: Mapping[str, Any], key: str, variable: str) -> Any:
    value = event.get(key)
    return value if value not in (None, "") else os.environ.get(variable) or None


def _timeout() -> float:
    text = os.environ.get("MWAA_TIMEOUT", "60")
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"MWAA_TIMEOUT must be a number of seconds, got {text!r}") from None


def _conf(event: Mapping[str, Any]) -> Any:
    if event.get("conf") is not None:
        return event["conf"]
    if os.environ.get("MWAA_PASS_EVENT", "").lower() in ("1", "true", "yes"):
        return {"event": dict(event)}
    text = os.environ.get("MWAA_CONF")
    if text:
        return text  # validated as a JSON object by the command builder
    return None


def _run_id(event: Mapping[str, Any], context: Any) -> str:
    if event.get("run_id"):
        return str(event["run_id"])
    request_id = getattr(context, "aws_request_id", None)
    if request_id:
        return f"lambda__{request_id}"  # the same in every retry of one event
    return f"manual__{datetime.now(UTC).isoformat()}"


def _deadline(context: Any) -> float | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    left = float(remaining()) / 1000.0 - TIME_MARGIN_SECONDS
    if left <= 0:
        raise MwaaUnreachableError("the function has no time left to trigger the DAG")
    return time.monotonic() + left


def trigger_from_event(event: Mapping[str, Any] | None, context: Any = None) -> dict[str, Any]:
    """Trigger the DAG the event (or the environment) names; return the run's identity.

    :param event: the Lambda event (a mapping; anything else counts as empty)
    :param context: the Lambda context: its ``aws_request_id`` is the default run id, its
        remaining time caps every command's timeout
    :raises MwaaExtrasError: for every failure, with a one-line message
    """
    event = event if isinstance(event, Mapping) else {}
    environment = _setting(event, "environment", "MWAA_ENVIRONMENT")
    dag_id = _setting(event, "dag_id", "MWAA_DAG_ID")
    if not environment or not dag_id:
        raise UsageError(
            "name the environment and the DAG: event keys environment and dag_id, or MWAA_ENVIRONMENT and MWAA_DAG_ID"
        )
    client = _CLIENTS.get(environment)
    if client is None:
        client = _CLIENTS[environment] = MwaaEnvironmentClient(
            environment,
            airflow_version=os.environ.get("MWAA_AIRFLOW_VERSION") or None,
            timeout=_timeout(),
        )
    conf = _conf(event)
    conf_dict = json.loads(commands.conf_json(conf)) if conf is not None else None  # before any call
    client.deadline = _deadline(context)
    try:
        remote = RemoteDagRuns(
            environment, transport=os.environ.get("MWAA_TRANSPORT") or "auto", cli_client=client
        )
        check_paused = os.environ.get("MWAA_CHECK_PAUSED", "").lower() in ("1", "true", "yes")
        run = remote.trigger(
            str(dag_id), run_id=_run_id(event, context), conf=conf_dict, allow_paused=not check_paused
        )
    finally:
        client.deadline = None
    return {
        "ok": True,
        "environment": environment,
        "dag_id": dag_id,
        "run_id": run.run_id,
        "airflow_version": client.airflow_version,
        "created": run.created,
    }


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """The Lambda entry point: a JSON-serializable dict, never bytes.

    :param event: the invocation event
    :param context: the Lambda context (``aws_request_id``, ``get_remaining_time_in_millis``)
    """
    try:
        return trigger_from_event(event, context)
    except (MwaaUnreachableError, MwaaThrottledError, MwaaCommandMayHaveRunError):
        raise  # transient: Lambda's retry (same aws_request_id, same run id) finds or makes the run
    except MwaaExtrasError as err:
        result = {"ok": False, "error": type(err).__name__, "message": str(err)}
        print(json.dumps(result))  # CloudWatch Logs; messages never hold variable values or passwords
        return result


lambda_handler = handler  # the name the MWAA user guide uses
