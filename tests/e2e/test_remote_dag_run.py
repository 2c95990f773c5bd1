"""Environment A triggers environment B's DAG through the MWAA stand-in, over each transport.

B is a real Airflow with its own metadata DB, its real REST API and a real scheduler, so B's run
really executes; A runs the example DAGs in this process with ``dag.test()`` against the suite's
own metadata DB. Each case asserts B's run (state, conf byte for byte) and A's outcome.
"""

from __future__ import annotations

import importlib.util
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_mwaa_extras.mwaa.rest_api import supports_invoke_rest_api
from airflow_mwaa_extras.testing.local_rest_api import LocalRestApi
from airflow_mwaa_extras.testing.local_scheduler import LocalScheduler
from airflow_mwaa_extras.testing.mwaa_standin import MwaaStandin, start_mwaa_standin
from tests.remote_envs import EXAMPLE_DAGS, TARGET, RemoteEnv

# Real processes (two Airflows, a scheduler): minutes on a busy 2-core machine.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(2400),
    # A runs in this process (``dag.test()``) on the session's metadata DB: migrated on first use.
    pytest.mark.usefixtures("airflow_home"),
]

ENV_B = "env-b"
CONF = {
    "nested": {"list": [1, 2.5, None, True], "deep": {"k": "v"}},
    "quotes": 'it\'s "quoted" `x` $(y) ; z',
    "text": "Grüße, 東京 ✓",
}


def _has_invoke_rest_api() -> bool:
    import boto3

    return supports_invoke_rest_api(boto3.client("mwaa", region_name="us-east-1"))


@pytest.fixture(scope="module")
def env_b(remote_env: RemoteEnv) -> Iterator[tuple[LocalRestApi, LocalScheduler]]:
    """B is the session's remote environment, with a scheduler for this module's tests (B's home
    holds a DAG file that fails to import, as real environments often do)."""
    api = remote_env.serve_as(ENV_B)
    scheduler = remote_env.scheduler()
    yield api, scheduler
    scheduler.stop()


@pytest.fixture(scope="module")
def standin(remote_env: RemoteEnv, env_b: tuple[LocalRestApi, LocalScheduler]) -> Iterator[MwaaStandin]:
    server = start_mwaa_standin({ENV_B: remote_env.home})
    yield server
    server.stop()


@pytest.fixture
def a_env(standin: MwaaStandin, monkeypatch: pytest.MonkeyPatch) -> MwaaStandin:
    for key, value in standin.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps(
            {"conn_type": "aws", "extra": {"region_name": "us-east-1", "endpoint_url": standin.endpoint_url}}
        ),
    )
    monkeypatch.setenv("MWAA_EXTRAS_REMOTE_ENVIRONMENT", ENV_B)
    return standin


def _load_dag(name: str, deferrable: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("MWAA_EXTRAS_EXAMPLE_DEFERRABLE", "true" if deferrable else "false")
    path = EXAMPLE_DAGS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_{uuid.uuid4().hex[:6]}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from airflow_mwaa_extras.version_compat import BaseOperator

    # the examples use `with DAG(...):` without a name: reach the DAG through a task
    task = next(v for v in vars(module).values() if isinstance(v, BaseOperator))
    assert task.dag is not None
    assert task.dag.dag_id == name
    return task.dag


def _b_runs_with_case(api: LocalRestApi, case: str) -> list[dict[str, Any]]:
    runs = api.get_json(f"/dags/{TARGET}/dagRuns", {"limit": 100})["dag_runs"]
    return [r for r in runs if (r.get("conf") or {}).get("case") == case]


def _run_a(dag: Any, conf: dict[str, Any]) -> str:
    started = time.monotonic()
    dag_run = dag.test(run_conf={"remote_conf": conf})
    print(f"A's run of {dag.dag_id} took {time.monotonic() - started:.0f} s: {dag_run.state}")
    return str(dag_run.state)


CASES = [
    pytest.param("example_mwaa_extras_remote_dag_run_cli", False, id="cli-sensor-reschedule"),
    pytest.param("example_mwaa_extras_remote_dag_run_cli", True, id="cli-sensor-deferred"),
    pytest.param("example_mwaa_extras_remote_dag_run_rest_api", False, id="rest-api-wait"),
    pytest.param("example_mwaa_extras_remote_dag_run_rest_api", True, id="rest-api-deferred"),
]


@pytest.mark.parametrize(("dag_name", "deferrable"), CASES)
def test_a_triggers_b_and_sees_its_outcome(
    dag_name: str,
    deferrable: bool,
    a_env: MwaaStandin,
    env_b: tuple[LocalRestApi, LocalScheduler],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if "rest_api" in dag_name and not _has_invoke_rest_api():
        pytest.skip("botocore 1.35.36 (MWAA 2.10.3) has no InvokeRestApi; the forwarding is tested directly")
    api, scheduler = env_b
    case = uuid.uuid4().hex
    conf = {**CONF, "case": case}
    state = _run_a(_load_dag(dag_name, deferrable, monkeypatch), conf)
    runs = _b_runs_with_case(api, case)
    assert len(runs) == 1, f"expected one run in B, got {runs}; scheduler: {scheduler.logs()[-800:]}"
    assert runs[0]["conf"] == conf
    assert runs[0]["state"] == "success"
    assert state == "success"


@pytest.mark.parametrize(
    "dag_name",
    [
        pytest.param("example_mwaa_extras_remote_dag_run_cli", id="cli"),
        pytest.param("example_mwaa_extras_remote_dag_run_rest_api", id="rest-api"),
    ],
)
def test_a_failing_remote_run_fails_a(
    dag_name: str,
    a_env: MwaaStandin,
    env_b: tuple[LocalRestApi, LocalScheduler],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if "rest_api" in dag_name and not _has_invoke_rest_api():
        pytest.skip("botocore 1.35.36 (MWAA 2.10.3) has no InvokeRestApi; the forwarding is tested directly")
    api, _scheduler = env_b
    case = uuid.uuid4().hex
    state = _run_a(_load_dag(dag_name, False, monkeypatch), {"fail": True, "case": case})
    runs = _b_runs_with_case(api, case)
    assert [r["state"] for r in runs] == ["failed"]
    assert state == "failed"
