"""An AWS Lambda handler that triggers a DAG in an MWAA environment (no Airflow needed).

Handler: ``airflow_mwaa_extras.mwaa.lambda_handler.handler``. Settings come from the event, then
from environment variables:

====================  ==========================  ===========================================
event key             environment variable        meaning
====================  ==========================  ===========================================
``environment``       ``MWAA_ENVIRONMENT``        the MWAA environment name (required)
``dag_id``            ``MWAA_DAG_ID``             the DAG to trigger (required)
``conf``              ``MWAA_CONF``               the run's conf, an object (JSON text in the variable)
``run_id``            (none)                      the run id (default ``manual__<now in UTC>``)
(none)                ``MWAA_AIRFLOW_VERSION``    skip GetEnvironment (the role then needs only
                                                  ``airflow:CreateCliToken``)
(none)                ``MWAA_TIMEOUT``            seconds to wait for the command (60; keep it
                                                  below the function's own timeout)
(none)                ``MWAA_PASS_EVENT=true``    without ``conf`` in the event, send the whole
                                                  event as ``{"event": ...}``
====================  ==========================  ===========================================

It returns ``{"ok": true, "environment", "dag_id", "run_id", "airflow_version"}``. A permanent
failure (bad input, unknown environment, missing permission, the command failed) returns
``{"ok": false, "error": <exception name>, "message": <one line>}``; a transient one (web server
unreachable or busy) raises, so Lambda's own retry for asynchronous invocations applies.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError
from airflow_mwaa_extras.mwaa import commands
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.mwaa.errors import MwaaThrottledError, MwaaUnreachableError

# Warm invocations reuse the client, and with it the CLI token while it is fresh.
_CLIENTS: dict[str, MwaaEnvironmentClient] = {}


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


def trigger_from_event(event: Mapping[str, Any] | None) -> dict[str, Any]:
    """Trigger the DAG the event (or the environment) names; return the run's identity.

    :param event: the Lambda event (a mapping; anything else counts as empty)
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
    if conf is not None:
        commands.conf_json(conf)  # a bad conf fails before any call
    run_id = event.get("run_id") or f"manual__{datetime.now(UTC).isoformat()}"
    cmd = commands.dags_trigger(
        str(dag_id), airflow_version=client.airflow_version, conf=conf, run_id=str(run_id)
    )
    client.run(cmd)
    return {
        "ok": True,
        "environment": environment,
        "dag_id": dag_id,
        "run_id": run_id,
        "airflow_version": client.airflow_version,
    }


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """The Lambda entry point: a JSON-serializable dict, never bytes.

    :param event: the invocation event
    :param context: the Lambda context (unused)
    """
    try:
        return trigger_from_event(event)
    except (MwaaUnreachableError, MwaaThrottledError):
        raise  # transient: let Lambda retry the invocation
    except MwaaExtrasError as err:
        result = {"ok": False, "error": type(err).__name__, "message": str(err)}
        print(json.dumps(result))  # CloudWatch Logs; messages never hold variable values or passwords
        return result


lambda_handler = handler  # the name the MWAA user guide uses
