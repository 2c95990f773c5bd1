"""``mwaa-extras run / trigger / variables import / login-url`` as a user types them, against the stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_mwaa_extras.cli import main
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.mwaa_standin import MwaaStandin, start_mwaa_standin
from airflow_mwaa_extras.testing.mwaa_standin_target import TARGET_DAG_ID, run_conf
from tests.mwaa.remote_env import shared_remote_home


@pytest.fixture
def bare_standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MwaaStandin]:
    """A stand-in whose environment is only a folder: for what never reaches the airflow CLI."""
    home = AirflowHome(path=tmp_path, sql_alchemy_conn="", env={"AIRFLOW_HOME": str(tmp_path)})
    with start_mwaa_standin({"dev": home}, denied_access_keys={"DENIED"}) as running:
        for key, value in running.env.items():
            monkeypatch.setenv(key, value)
        yield running


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[MwaaStandin]:
    with start_mwaa_standin({"remote": shared_remote_home()}) as running:
        for key, value in running.env.items():
            monkeypatch.setenv(key, value)
        yield running


SLOW_OK = ["--timeout", "900"]  # a loaded CI machine runs the airflow CLI slowly


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert err.startswith("mwaa-extras: error: "), err
    assert "\n" not in err, err
    return err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["trigger", "dev", "d", "--conf", "{not json"], "conf is not valid JSON"),
        (["trigger", "nope", "d"], "no MWAA environment named 'nope'"),
        (["run", "dev", "--", "variables", "import", "v.json"], "mwaa-extras variables import"),
        (["run", "dev", "--", "connections", "list"], "does not run 'airflow connections list'"),
        (["run", "dev"], "give the Airflow command after --"),
        (["run", "dev", "--", "dags trigger 'unbalanced"], "cannot split the command line"),
    ],
    ids=["bad-conf", "unknown-env", "variables-import", "unsupported", "no-command", "bad-quotes"],
)
def test_bad_input_is_one_line_and_runs_nothing(
    bare_standin: MwaaStandin, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 1
    assert message in _one_line_error(capsys)
    assert bare_standin.stats.cli_requests == 0
    assert bare_standin.stats.token_calls == 0


def test_access_denied_and_unreachable_are_one_line(
    bare_standin: MwaaStandin, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "DENIED")
    assert main(["trigger", "dev", "d"]) == 1
    assert "was denied" in _one_line_error(capsys)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ok")
    assert main(["login-url", "dev", "--endpoint-url", "http://127.0.0.1:9"]) == 1
    assert "cannot reach the MWAA API" in _one_line_error(capsys)


def test_login_url(bare_standin: MwaaStandin, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["login-url", "dev"]) == 0
    # The last line: Airflow's logging, set up in this test process, may print botocore's INFO first.
    assert (
        capsys.readouterr()
        .out.strip()
        .splitlines()[-1]
        .startswith(f"http://{bare_standin.host}{bare_standin.login_path}?login=true#")
    )


def test_variables_import_input_errors(
    bare_standin: MwaaStandin, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    assert main(["variables", "import", "dev", str(listing)]) == 1
    assert "must hold a JSON object" in _one_line_error(capsys)
    assert main(["variables", "import", "dev", str(tmp_path / "missing.json")]) == 1
    assert "no such file" in _one_line_error(capsys)


@pytest.mark.slow
def test_run_and_trigger_as_typed(standin: MwaaStandin, capsys: pytest.CaptureFixture[str]) -> None:
    conf = {"path": "s3://b/it's here; $(rm -rf /)", "n": 3}
    assert main(["trigger", "remote", TARGET_DAG_ID, "--run-id", "cli__0", *SLOW_OK]) == 1
    assert "is paused in remote" in capsys.readouterr().err  # the target DAG is paused
    assert (
        main(
            [
                "trigger",
                "remote",
                TARGET_DAG_ID,
                "--conf",
                json.dumps(conf),
                "--run-id",
                "cli__1",
                "--allow-paused",
                *SLOW_OK,
            ]
        )
        == 0
    )
    assert "run id cli__1" in capsys.readouterr().out
    assert run_conf(shared_remote_home(), TARGET_DAG_ID, "cli__1") == conf
    assert main(["run", *SLOW_OK, "remote", "--", "variables", "get", "mwaa_extras_no_such_variable"]) == 1
    captured = capsys.readouterr()
    assert "does not exist" in captured.err
    assert "mwaa-extras: airflow variables get failed in remote" in captured.err


@pytest.mark.slow
def test_variables_import_resumes_after_a_failure(
    standin: MwaaStandin, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "vars.json"
    source.write_text(
        json.dumps({"mwaa_extras_plain": "a b", "mwaa_extras_object": {"x": [1]}, "bad\u0000key": "v"})
    )
    assert main(["variables", "import", "remote", str(source), *SLOW_OK]) == 1
    captured = capsys.readouterr()
    assert "2 set, 0 already there, 1 failed, 0 may have run (of 3)" in captured.out
    assert "[3/3] bad" in captured.err
    assert "NUL character" in captured.err
    progress = tmp_path / "vars.json.remote.progress"
    assert set(json.loads(progress.read_text())["done"]) == {"mwaa_extras_plain", "mwaa_extras_object"}
    requests = standin.stats.cli_requests

    source.write_text(json.dumps({"mwaa_extras_plain": "a b", "mwaa_extras_object": {"x": [1]}}))
    assert main(["variables", "import", "remote", str(source), *SLOW_OK]) == 0
    assert "0 set, 2 already there, 0 failed, 0 may have run (of 2)" in capsys.readouterr().out
    assert standin.stats.cli_requests == requests  # nothing was sent twice
    assert not progress.exists()
    stored = shared_remote_home().airflow("variables", "get", "mwaa_extras_object").stdout
    assert json.loads(stored.strip().splitlines()[-1]) == {"x": [1]}
