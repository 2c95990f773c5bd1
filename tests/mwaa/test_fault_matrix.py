"""Every path that changes something, under every fault the stand-in injects: nothing lost, nothing doubled.

Paths: the operator's trigger, ``mwaa-extras trigger``, the Lambda handler (called twice with the
same context, as Lambda's retry does), ``mwaa-extras variables import``, ``mwaa-extras run --
variables set`` and ``db clean`` through the CLI endpoint. Faults: none, 500 before the command
ran, 502/504 after it ran, a connection reset after it ran, an answer later than the client's
timeout. The outcome is read from the remote environment's metadata DB. The target environment
is the session's one (``remote_env``, :mod:`tests.remote_envs`): it has a broken DAG file, as
real environments often do; the runs are of its paused DAG, so they stay queued.

The matrix is printed at the end of the module (``-s`` shows it) and written to
``$MWAA_EXTRAS_FAULT_MATRIX_OUT`` when that is set.
"""

from __future__ import annotations

import datetime
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy

from airflow_mwaa_extras import lambda_handler
from airflow_mwaa_extras.cli import main
from airflow_mwaa_extras.mwaa import commands
from airflow_mwaa_extras.mwaa.cli_output import stderr_looks_failed
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.mwaa.errors import MwaaCommandMayHaveRunError
from airflow_mwaa_extras.mwaa.rest_api import supports_invoke_rest_api
from airflow_mwaa_extras.mwaa.supported_commands import is_airflow_3
from airflow_mwaa_extras.testing.airflow_home import AirflowHome, installed_airflow_version
from airflow_mwaa_extras.testing.mwaa_standin import MwaaStandin, start_mwaa_standin
from airflow_mwaa_extras.testing.mwaa_standin_target import count_runs
from airflow_mwaa_extras.testing.standin_faults import Fault
from tests.remote_envs import NO_INVOKE_REST_API, PAUSED, RemoteEnv

pytestmark = pytest.mark.slow

ENV = "remote"
TIMEOUT = 15.0  # the clients' timeout; the delay fault answers later than that
FAULTS: dict[str, Fault | None] = {
    "none": None,
    "500 before run": Fault(status=500, before=True),
    "502 after run": Fault(status=502),
    "504 after run": Fault(status=504),
    "reset after run": Fault(reset=True),
    "late answer": Fault(delay=TIMEOUT + 2),
}
# The paused copy of the target: its id is short enough for InvokeRestApi's 64-character paths
# (`/dags/{dag}/dagRuns/{run id}`, the lookup after a lost answer), and no scheduler runs its
# runs. Every path is told to trigger it although it is paused.
DAG_ID = PAUSED
_MATRIX: list[dict[str, Any]] = []


@pytest.fixture(scope="module")
def home(remote_env: RemoteEnv) -> AirflowHome:
    """The session's remote environment's home."""
    return remote_env.home


@pytest.fixture(scope="module")
def standin(home: AirflowHome) -> Iterator[MwaaStandin]:
    with start_mwaa_standin({ENV: home}) as running, pytest.MonkeyPatch.context() as patch:
        for key, value in running.env.items():
            patch.setenv(key, value)
        patch.setenv("MWAA_TIMEOUT", str(TIMEOUT))
        patch.setenv("MWAA_TRANSPORT", "cli")  # the faults below are the CLI endpoint's
        yield running
    _report()


def _report() -> None:
    version = installed_airflow_version()
    lines = [
        f"Fault matrix, Airflow {version} (stand-in, strict MWAA, one broken DAG file in the target)",
        "",
        "| path | fault | reported | runs/values after | duplicates | lost |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {row['path']} | {row['fault']} | {row['reported']} | {row['after']} | {row['duplicates']} | {row['lost']} |"
        for row in _MATRIX
    ]
    totals = {key: sum(int(row[key]) for row in _MATRIX) for key in ("duplicates", "lost")}
    lines += ["", f"cells: {len(_MATRIX)}, duplicates: {totals['duplicates']}, lost: {totals['lost']}"]
    text = "\n".join(lines)
    print("\n" + text)
    out = os.environ.get("MWAA_EXTRAS_FAULT_MATRIX_OUT")
    if out:
        Path(out).write_text(text + "\n", encoding="utf-8")


def _query(home: AirflowHome, sql: str, **params: Any) -> int:
    engine = sqlalchemy.create_engine(home.sql_alchemy_conn)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sqlalchemy.text(sql), params).scalar_one())
    finally:
        engine.dispose()


def _runs(home: AirflowHome, run_id: str) -> int:
    return _query(home, "SELECT count(*) FROM dag_run WHERE dag_id = :d AND run_id = :r", d=DAG_ID, r=run_id)


def _all_runs(home: AirflowHome) -> int:
    return count_runs(home, DAG_ID)


def _variables(home: AirflowHome, key: str) -> int:
    return _query(home, "SELECT count(*) FROM variable WHERE key = :k", k=key)


def _arm(standin: MwaaStandin, fault: Fault | None, command: str) -> None:
    standin.faults.clear()
    if fault is not None:
        standin.inject(fault, environment=ENV, command=command)


# --- the trigger paths: the run exists exactly once, and the caller got it ----------------


def _run_trigger_operator(run_id: str, transport: str) -> str:
    """The trigger operator's ``execute``, as a task runs it: "ok" when it pushed the run id."""
    from airflow_mwaa_extras.operators.remote_dag_run import MwaaTriggerRemoteDagRunOperator
    from airflow_mwaa_extras.version_compat import DAG

    with DAG("fault_matrix_source", schedule=None, start_date=datetime.datetime(2024, 1, 1)):
        op = MwaaTriggerRemoteDagRunOperator(
            task_id="trigger",
            environment_name=ENV,
            remote_dag_id=DAG_ID,
            run_id=run_id,
            transport=transport,
            allow_paused=True,
        )
    if transport == "cli":
        op.remote.cli_client.timeout = TIMEOUT
    pushed: dict[str, Any] = {}
    ti = SimpleNamespace(xcom_push=lambda key, value: pushed.update({key: value}))
    op.execute({"ti": ti})  # type: ignore[arg-type]
    return "ok" if run_id in pushed.values() else f"no XCom: {pushed}"


def _operator_trigger(standin: MwaaStandin, run_id: str) -> str:
    return _run_trigger_operator(run_id, "cli")


def _cli_trigger(standin: MwaaStandin, run_id: str) -> str:
    code = main(
        [
            "trigger",
            "--timeout",
            str(TIMEOUT),
            ENV,
            DAG_ID,
            "--run-id",
            run_id,
            "--transport",
            "cli",
            "--allow-paused",
        ]
    )
    return "ok" if code == 0 else f"exit {code}"


class _Context:
    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id

    def get_remaining_time_in_millis(self) -> int:
        return 120_000


def _lambda_trigger(standin: MwaaStandin, run_id: str) -> str:
    lambda_handler._CLIENTS.clear()
    context = _Context(run_id.removeprefix("lambda__"))
    event = {"environment": ENV, "dag_id": DAG_ID}
    outcomes = []
    for _ in range(2):  # Lambda's retry: the same event and context
        try:
            result = lambda_handler.handler(event, context)
            outcomes.append("ok" if result.get("ok") and result["run_id"] == run_id else f"{result}")
        except Exception as err:  # what Lambda sees as a failed invocation, then retries
            outcomes.append(f"raised {type(err).__name__}")
    return ", then ".join(outcomes)


TRIGGERS: dict[str, Callable[[MwaaStandin, str], str]] = {
    "operator trigger": _operator_trigger,
    "mwaa-extras trigger": _cli_trigger,
    "Lambda handler x2": _lambda_trigger,
}


def _check_trigger(
    standin: MwaaStandin,
    home: AirflowHome,
    cell: tuple[str, str],
    command: str,
    run_id: str,
    trigger: Callable[[], str],
) -> None:
    """``trigger`` under the fault on ``command``: the run exists exactly once, and the caller got it.

    ``cell`` is the matrix row's (path, fault name).
    """
    path, fault_name = cell
    before = _all_runs(home)
    _arm(standin, FAULTS[fault_name], command)
    served = len(standin.faults.served)
    reported = trigger()
    standin.faults.clear()
    assert len(standin.faults.served) - served == (FAULTS[fault_name] is not None)  # the fault did happen
    runs, total = _runs(home, run_id), _all_runs(home) - before
    _MATRIX.append(
        {
            "path": path,
            "fault": fault_name,
            "reported": reported,
            "after": f"{runs} run",
            "duplicates": max(0, total - 1),
            "lost": int(runs == 0),
        }
    )
    assert (runs, total) == (1, 1), reported
    assert reported.endswith("ok"), reported


@pytest.mark.parametrize("fault_name", list(FAULTS))
@pytest.mark.parametrize("path", list(TRIGGERS))
def test_trigger_paths(standin: MwaaStandin, home: AirflowHome, path: str, fault_name: str) -> None:
    run_id = f"lambda__{uuid.uuid4()}" if path.startswith("Lambda") else f"fm__{uuid.uuid4().hex[:12]}"
    _check_trigger(
        standin, home, (path, fault_name), "dags trigger", run_id, lambda: TRIGGERS[path](standin, run_id)
    )


@pytest.mark.skipif(
    not supports_invoke_rest_api(),
    reason=NO_INVOKE_REST_API,
)
@pytest.mark.parametrize("fault_name", [name for name in FAULTS if name != "late answer"])
def test_operator_trigger_over_invoke_rest_api(
    standin: MwaaStandin, home: AirflowHome, fault_name: str
) -> None:
    # "late answer" is left out: botocore waits 60 s for MWAA's API before it gives up.
    run_id = f"fmr__{uuid.uuid4().hex[:12]}"
    cell = ("operator trigger (InvokeRestApi)", fault_name)
    _check_trigger(
        standin, home, cell, "InvokeRestApi POST", run_id, lambda: _run_trigger_operator(run_id, "rest_api")
    )


# --- the other mutating paths: a lost answer is reported, and a re-run completes ---------


def _variables_import(standin: MwaaStandin, key: str, tmp: Path) -> tuple[int, str]:
    source = tmp / f"{key}.json"
    source.write_text(json.dumps({key: {"n": 1}}))
    argv = ["variables", "import", "--timeout", str(TIMEOUT), "--transport", "cli", ENV, str(source)]
    return main(argv), ""  # the faults here are the CLI endpoint's


def _run_variables_set(standin: MwaaStandin, key: str, tmp: Path) -> tuple[int, str]:
    return main(["run", "--timeout", str(TIMEOUT), ENV, "--", "variables", "set", key, "v"]), ""


def _db_clean(standin: MwaaStandin, key: str, tmp: Path) -> tuple[int, str]:
    client = MwaaEnvironmentClient(ENV, endpoint_url=standin.endpoint_url, timeout=TIMEOUT)
    cmd = commands.db_clean(key, tables=["log"], skip_archive=True)
    try:
        client.run(cmd)
    except MwaaCommandMayHaveRunError as err:
        print(f"mwaa-extras: error: {err}")
        return 1, str(err)
    return 0, ""


OTHERS: dict[str, tuple[str, Callable[[MwaaStandin, str, Path], tuple[int, str]]]] = {
    "variables import": ("variables set", _variables_import),
    "run -- variables set": ("variables set", _run_variables_set),
    "db clean (CLI endpoint)": ("db clean", _db_clean),
}


@pytest.mark.parametrize("fault_name", list(FAULTS))
@pytest.mark.parametrize("path", list(OTHERS))
def test_other_mutating_paths(
    standin: MwaaStandin,
    home: AirflowHome,
    path: str,
    fault_name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    command, run = OTHERS[path]
    fault = FAULTS[fault_name]
    if command == "db clean":
        key = datetime.datetime.now(datetime.UTC).isoformat()  # the cutoff: clean every older log row
    else:
        key = f"fm_{uuid.uuid4().hex[:12]}"
    _arm(standin, fault, command)
    served = len(standin.faults.served)
    code, _ = run(standin, key, tmp_path)
    standin.faults.clear()
    assert len(standin.faults.served) - served == (fault is not None)  # the fault did happen
    out = capsys.readouterr()
    said_may_have_run = "may have run" in out.out + out.err
    if fault is None:
        assert code == 0, out.err
    else:
        # Never resent, never silent: one line says it may have run.
        assert code == 1, out.err
        assert said_may_have_run, out.err
        assert [line for line in out.err.splitlines() if "may have run" in line and "Traceback" in line] == []
        assert run(standin, key, tmp_path)[0] == 0  # the user's check-then-re-run completes it
        capsys.readouterr()
    if command == "db clean":
        left = _query(
            home, "SELECT count(*) FROM log WHERE dttm < :t", t=datetime.datetime.fromisoformat(key)
        )
        after, lost, dup = f"{left} old log rows", int(left != 0), 0
    else:
        count = _variables(home, key)
        after, lost, dup = f"{count} variable", int(count == 0), max(0, count - 1)
    reported = "ok" if fault is None else "may have run (1 line), re-run ok"
    _MATRIX.append(
        {
            "path": path,
            "fault": fault_name,
            "reported": reported,
            "after": after,
            "duplicates": dup,
            "lost": lost,
        }
    )
    assert (lost, dup) == (0, 0)


def test_a_broken_unrelated_dag_does_not_fail_dags_list(standin: MwaaStandin) -> None:
    client = MwaaEnvironmentClient(ENV, endpoint_url=standin.endpoint_url, timeout=TIMEOUT)
    result = client.run(commands.dags_list())
    if not is_airflow_3(client.airflow_version):
        # Airflow 2.10's real `dags list`: an error line on stderr, exit 0, the full list on stdout
        assert "Error: Failed to load all files" in result.stderr
        assert stderr_looks_failed(result.stderr.replace("Error: Failed to load all files", "Error:"))
    assert not result.failed
    assert DAG_ID in result.stdout
