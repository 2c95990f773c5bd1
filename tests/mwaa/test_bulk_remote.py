"""Bulk remote work through the strict stand-in: ``variables import`` over InvokeRestApi and the
CLI endpoint, and ``trigger --from-file``, under throttling and injected faults.

Outcomes are read from the remote environment's metadata DB, not from the client's report.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_mwaa_extras.cli import main
from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.mwaa.bulk_triggers import load_items, make_items
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.mwaa.rest_api import MwaaRestApiClient, supports_invoke_rest_api
from airflow_mwaa_extras.mwaa.variables_import import import_variables
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.mwaa_standin import MwaaStandin, start_mwaa_standin
from airflow_mwaa_extras.testing.mwaa_standin_target import run_counts, stored_variables
from airflow_mwaa_extras.testing.standin_faults import Fault
from tests.remote_envs import NO_INVOKE_REST_API, PAUSED, RemoteEnv

ENV = "remote"
HAS_REST = supports_invoke_rest_api()
needs_rest = pytest.mark.skipif(not HAS_REST, reason=NO_INVOKE_REST_API)
TRANSPORTS = [pytest.param("rest_api", marks=needs_rest), pytest.param("cli", marks=pytest.mark.slow)]


@pytest.fixture
def standin(remote_env: RemoteEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[MwaaStandin]:
    with start_mwaa_standin({ENV: remote_env.home}) as running:
        for key, value in running.env.items():
            monkeypatch.setenv(key, value)
        yield running


# The paused copy of the target: its id is short enough for InvokeRestApi's 64-character paths
# (`/dags/{dag}/dagRuns/{run id}`, the lookup after a lost answer); no scheduler runs its runs.
DAG_ID = PAUSED


def runs_of(home: AirflowHome, run_ids: list[str]) -> dict[str, int]:
    counts = run_counts(home, DAG_ID)
    return {run_id: counts.get(run_id, 0) for run_id in run_ids}


def _rest_calls(standin: MwaaStandin) -> int:
    """InvokeRestApi calls that reached the REST API (throttled ones did not)."""
    return standin.stats.rest_api_calls - standin.stats.rest_api_throttled


# --- variables import ----------------------------------------------------------------------


@needs_rest
def test_rest_import_under_throttling_and_5xx_loses_nothing_and_sets_each_key_once(
    remote_env: RemoteEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = remote_env.home
    prefix = f"bulk_{uuid.uuid4().hex[:6]}_"
    values: dict[str, Any] = {f"{prefix}{n:02d}": f"value {n}" for n in range(12)}
    values[f"{prefix}json"] = {"nested": [1, "two"]}
    # A stand-in throttling at 2 calls a second, and a client asking for 40 with six keys in
    # flight: calls collide even where the REST API answers slowly (Airflow 2's basic auth).
    with start_mwaa_standin({ENV: home}, rest_api_rate=2) as standin:
        for key, value in standin.env.items():
            monkeypatch.setenv(key, value)
        cli = MwaaEnvironmentClient(ENV, endpoint_url=standin.endpoint_url)
        rest = MwaaRestApiClient(ENV, mwaa_client=cli.mwaa_client, min_interval=0.025, max_attempts=20)
        rest.get("/dags", {"limit": 1})  # start the local REST API before counting
        for fault in (Fault(status=502), Fault(status=500, before=True), Fault(reset=True)):
            standin.inject(fault, environment=ENV, command="InvokeRestApi POST")
        summary = import_variables(
            ENV,
            values,
            state_file=tmp_path / "p",
            transport="rest_api",
            cli_client=cli,
            rest_client=rest,
            workers=6,
        )
        assert len(standin.faults.served) == 3
        assert standin.stats.rest_api_throttled > 0
        log = list(standin.rest_api_log)
    # Each key was written once: one POST or PATCH that Airflow carried out (2xx, whatever the
    # client got back). A lost answer was settled by a lookup that found the value, not by a
    # second write. Only a 5xx of the loaded machine's own (Airflow slower than MWAA's 10 s)
    # may leave a key with a second write of the same value.
    for key in values:
        writes = [
            answer
            for method, path, answer, body in log
            if (method == "POST" and isinstance(body, dict) and body.get("key") == key)
            or (method == "PATCH" and path == f"/variables/{key}")
        ]
        ran = [answer for answer in writes if answer.startswith("2")]
        slow = [answer for answer in writes if answer.startswith("5")]
        assert len(ran) == 1 or (slow and len(ran) <= 2), (key, writes)
    assert summary.count("set") == len(values), summary.errors
    assert summary.complete
    assert set(summary.transports.values()) == {"rest_api"}
    stored = stored_variables(home, prefix)
    assert stored == {key: v if isinstance(v, str) else json.dumps(v) for key, v in values.items()}
    assert not (tmp_path / "p").exists()


class _Interrupted(KeyboardInterrupt):
    pass


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_import_resumes_after_an_interruption(
    remote_env: RemoteEnv, standin: MwaaStandin, tmp_path: Path, transport: str
) -> None:
    home = remote_env.home
    prefix = f"resume_{uuid.uuid4().hex[:6]}_"
    values = {f"{prefix}{n}": f"v{n}" for n in range(8 if transport == "rest_api" else 4)}
    state = tmp_path / "vars.progress"
    set_lines: list[str] = []

    def ctrl_c_after_two(line: str) -> None:
        if line.endswith(": set"):
            set_lines.append(line)
            if len(set_lines) == 2:
                raise _Interrupted  # the user presses Ctrl-C mid-way

    with pytest.raises(_Interrupted):
        import_variables(ENV, values, state_file=state, transport=transport, report=ctrl_c_after_two)
    done = set(json.loads(state.read_text())["done"])
    assert len(done) >= 2
    assert set(stored_variables(home, prefix)) >= done

    before = (len(standin.rest_api_log), standin.stats.cli_requests)
    lines: list[str] = []
    summary = import_variables(ENV, values, state_file=state, transport=transport, report=lines.append)
    assert summary.complete
    assert summary.count("skipped") == len(done)
    assert sorted(line.split(": ", 1)[0].split("] ", 1)[1] for line in lines if "skipped" in line) == sorted(
        done
    )
    left = set(values) - done
    if transport == "cli":
        assert standin.stats.cli_requests - before[1] == len(left)  # only what was left, one each
    else:  # only what was left (a lookup may follow a POST slower than MWAA's 10 s on a busy machine)
        sent = {_key_of(entry) for entry in standin.rest_api_log[before[0] :]}
        assert sent == left
    assert stored_variables(home, prefix) == values
    assert not state.exists()


def _key_of(entry: tuple[str, str, str, Any]) -> str:
    method, path, _answer, body = entry
    if method == "POST" and isinstance(body, dict):
        return str(body.get("key"))
    return path.removeprefix("/variables/")


# --- many triggers -------------------------------------------------------------------------


def _write_items(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("\n".join(json.dumps(record) for record in records) + "\n")
    return path


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_trigger_from_file_with_lost_answers_makes_one_run_per_item(
    remote_env: RemoteEnv,
    standin: MwaaStandin,
    tmp_path: Path,
    transport: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = remote_env.home
    tag = uuid.uuid4().hex[:6]
    count = 6 if transport == "rest_api" else 3
    records: list[dict[str, Any]] = [{"dag_id": DAG_ID, "conf": {"tag": tag, "n": n}} for n in range(count)]
    records.append({"dag_id": DAG_ID, "conf": {"tag": tag}, "run_id": f"given_{tag}"})
    records.append({"dag_id": "no_such_dag_here", "conf": {"tag": tag}})
    source = _write_items(tmp_path / "runs.jsonl", records)
    run_ids = [item.run_id for item in load_items(source) if item.dag_id == DAG_ID]
    command = "InvokeRestApi POST" if transport == "rest_api" else "dags trigger"
    standin.inject(Fault(status=502 if transport == "rest_api" else 504), environment=ENV, command=command)
    standin.inject(Fault(reset=True), environment=ENV, command=command)
    argv = ["trigger", "--timeout", "900", ENV, "--from-file", str(source), "--allow-paused"]
    argv += ["--transport", transport]

    assert main(argv) == 1  # the unknown DAG's item failed...
    out = capsys.readouterr()
    assert len(standin.faults.served) == 2, (out.out, out.err)
    assert f"{len(run_ids)} triggered, 0 already there, 1 failed, 0 not tried (of {len(records)})" in out.out
    assert "no_such_dag_here" in out.err
    assert "does not exist" in out.err
    assert runs_of(home, run_ids) == dict.fromkeys(run_ids, 1)  # ...and the others each made one run

    assert main(argv) == 1  # the same file again: found, not doubled
    assert f"0 triggered, {len(run_ids)} already there, 1 failed" in capsys.readouterr().out
    assert runs_of(home, run_ids) == dict.fromkeys(run_ids, 1)


def test_item_run_ids_come_from_the_items(tmp_path: Path) -> None:
    records = [
        {"dag_id": "a", "conf": {"x": 1, "y": 2}},
        {"dag_id": "a", "conf": {"y": 2, "x": 1}},  # the same item again: a second run, its own id
        {"dag_id": "a", "conf": {"x": 2}},
        {"dag_id": "a", "run_id": "mine"},
    ]
    lines = _write_items(tmp_path / "a.jsonl", records)
    array = tmp_path / "a.json"
    array.write_text(json.dumps(records, indent=2))
    ids = [item.run_id for item in load_items(lines)]
    assert ids == [item.run_id for item in load_items(array)]  # the format does not matter
    assert ids == [item.run_id for item in load_items(lines)]  # stable across re-runs
    assert len(set(ids)) == 4
    assert ids[3] == "mine"
    assert all(i.startswith("mxb_") for i in ids[:3])
    # inserting another item does not move the others' ids
    assert [i.run_id for i in make_items([("x", {"dag_id": "b"}), *(("r", r) for r in records)])][1:] == ids


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"dag_id": "a"}\n{"dag_id": "b"\n', "runs.jsonl:2 is not a JSON object"),
        ('[{"dag_id": "a"}, 3]', "item 2: an item must be a JSON object"),
        ('{"dag_id": "a", "runid": "x"}\n', "unknown key 'runid'"),
        ('{"conf": {}}\n', "dag_id must be a string"),
        ('{"dag_id": "a", "conf": "[1]"}\n', "conf"),
        ('{"dag_id": "a", "run_id": "r1"}\n{"dag_id": "a", "run_id": "r1"}\n', "runs.jsonl:2: run id 'r1'"),
        ("\n\n", "has no items"),
    ],
    ids=["malformed", "not-object", "unknown-key", "no-dag", "bad-conf", "duplicate-run-id", "empty"],
)
def test_bad_files_are_one_line_errors_and_send_nothing(
    bare_standin: MwaaStandin, tmp_path: Path, content: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "runs.jsonl"
    source.write_text(content)
    with pytest.raises(UsageError, match="."):
        load_items(source)
    assert main(["trigger", "dev", "--from-file", str(source)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("mwaa-extras: error: "), err
    assert "\n" not in err
    assert message in err
    assert bare_standin.stats.as_dict() == type(bare_standin.stats)().as_dict()  # nothing was sent


def test_from_file_refuses_single_run_options(bare_standin: MwaaStandin, tmp_path: Path) -> None:
    source = _write_items(tmp_path / "r.jsonl", [{"dag_id": "a"}])
    assert main(["trigger", "dev", "a", "--from-file", str(source)]) == 1
    assert main(["trigger", "dev", "--from-file", str(source), "--run-id", "x"]) == 1
    assert main(["trigger", "dev"]) == 1
    assert bare_standin.stats.cli_requests == bare_standin.stats.rest_api_calls == 0


@pytest.fixture
def bare_standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MwaaStandin]:
    """A stand-in whose environment is only a folder: for what never reaches Airflow."""
    home = AirflowHome(path=tmp_path, sql_alchemy_conn="", env={"AIRFLOW_HOME": str(tmp_path)})
    with start_mwaa_standin({"dev": home}) as running:
        for key, value in running.env.items():
            monkeypatch.setenv(key, value)
        yield running
