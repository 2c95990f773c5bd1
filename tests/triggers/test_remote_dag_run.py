"""The remote DAG run trigger: serialize() round trip and error events."""

from __future__ import annotations

import asyncio
import importlib

import pytest

from airflow_mwaa_extras.triggers.remote_dag_run import MwaaRemoteDagRunTrigger


def _round_trip(trigger: MwaaRemoteDagRunTrigger) -> MwaaRemoteDagRunTrigger:
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    rebuilt = cls(**kwargs)
    assert isinstance(rebuilt, MwaaRemoteDagRunTrigger)
    return rebuilt


@pytest.mark.parametrize("task_id", [None, "work"], ids=["whole-run", "one-task"])
def test_serialize_round_trip(task_id: str | None) -> None:
    trigger = MwaaRemoteDagRunTrigger(
        environment_name="env-b",
        dag_id="target",
        run_id="mx_0123456789abc",
        task_id=task_id,
        poll_interval=7,
        aws_conn_id="other_aws",
        region_name="eu-west-1",
        transport="cli",
    )
    rebuilt = _round_trip(trigger)
    assert rebuilt.serialize() == trigger.serialize()
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_mwaa_extras.triggers.remote_dag_run.MwaaRemoteDagRunTrigger"
    assert kwargs == {
        "environment_name": "env-b",
        "dag_id": "target",
        "run_id": "mx_0123456789abc",
        "task_id": task_id,
        "poll_interval": 7.0,
        "aws_conn_id": "other_aws",
        "region_name": "eu-west-1",
        "transport": "cli",
    }


def test_an_unreachable_environment_ends_in_an_error_event() -> None:
    # aws_default points at a closed loopback port in the test suite: the MWAA API is unreachable.
    trigger = MwaaRemoteDagRunTrigger(
        environment_name="env-b", dag_id="target", run_id="r", poll_interval=0.01, transport="cli"
    )

    async def first_event() -> dict[str, object]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    event = asyncio.run(asyncio.wait_for(first_event(), timeout=120))
    assert event["status"] == "error"
    assert "env-b" in str(event["message"]) or "MWAA" in str(event["message"])
    assert event["polls"] == 1
