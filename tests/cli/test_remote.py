"""``mwaa-extras run / trigger / variables import / login-url`` as a user types them, against the stand-in."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_mwaa_extras.cli import build_parser, main
from airflow_mwaa_extras.mwaa import commands
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.mwaa_standin import MwaaStandin, start_mwaa_standin
from airflow_mwaa_extras.testing.mwaa_standin_target import run_conf
from tests.remote_envs import PAUSED, TARGET, RemoteEnv


@pytest.fixture
def bare_standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MwaaStandin]:
    """A stand-in whose environment is only a folder: for what never reaches the airflow CLI."""
    home = AirflowHome(path=tmp_path, sql_alchemy_conn="", env={"AIRFLOW_HOME": str(tmp_path)})
    with start_mwaa_standin({"dev": home}, denied_access_keys={"DENIED"}) as running:
        for key, value in running.env.items():
            monkeypatch.setenv(key, value)
        yield running


@pytest.fixture
def standin(remote_env: RemoteEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[MwaaStandin]:
    with start_mwaa_standin({"remote": remote_env.home}) as running:
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
def test_run_and_trigger_as_typed(
    remote_env: RemoteEnv,
    standin: MwaaStandin,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = {"path": "s3://b/it's here; $(rm -rf /)", "n": 3}
    assert main(["trigger", "remote", PAUSED, "--run-id", "cli__0", *SLOW_OK]) == 1
    assert "is paused in remote" in capsys.readouterr().err
    assert (
        main(
            [
                "trigger",
                "remote",
                TARGET,
                "--conf",
                json.dumps(conf),
                "--run-id",
                "cli__1",
                *SLOW_OK,
            ]
        )
        == 0
    )
    assert "run id cli__1" in capsys.readouterr().out
    assert run_conf(remote_env.home, TARGET, "cli__1") == conf
    # a conf over 128 KiB (too big for one shell argument) from a file, and from stdin
    big = {"rows": ["x" * 100] * 2000}
    conf_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"mwaa-extras-conf-{os.getpid()}.json"
    conf_file.write_text(json.dumps(big))
    try:
        argv = ["trigger", "remote", TARGET, "--run-id", "cli__big", "--allow-paused", *SLOW_OK]
        assert main([*argv, "--conf-file", str(conf_file)]) == 0
        monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(big)))
        assert main([*argv[:3], "--run-id", "cli__stdin", *argv[5:], "--conf-file", "-"]) == 0
    finally:
        conf_file.unlink()
    assert run_conf(remote_env.home, TARGET, "cli__big") == big
    assert run_conf(remote_env.home, TARGET, "cli__stdin") == big
    capsys.readouterr()
    assert main(["run", *SLOW_OK, "remote", "--", "variables", "get", "mwaa_extras_no_such_variable"]) == 1
    captured = capsys.readouterr()
    assert "does not exist" in captured.err
    assert "mwaa-extras: airflow variables get failed in remote" in captured.err


@pytest.mark.slow
def test_variables_import_resumes_after_a_failure(
    remote_env: RemoteEnv, standin: MwaaStandin, capsys: pytest.CaptureFixture[str], tmp_path: Path
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
    stored = remote_env.home.airflow("variables", "get", "mwaa_extras_object").stdout
    assert json.loads(stored.strip().splitlines()[-1]) == {"x": [1]}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["trigger", "dev", "d", "--run-id=--"], "--run-id needs a value", id="run-id-dashes"),
        pytest.param(["trigger", "dev", "d", "--run-id="], "--run-id needs a value", id="run-id-empty"),
        pytest.param(
            ["trigger", "dev", "d", "--logical-date="], "--logical-date needs a value", id="date-empty"
        ),
        pytest.param(["trigger", "dev", "a\nb"], "DAG id 'a\\nb' contains a line break", id="dag-newline"),
        pytest.param(
            ["trigger", "dev", "d", "--run-id", "r\nx"],
            "run id 'r\\nx' contains a line break",
            id="run-newline",
        ),
        pytest.param(
            ["run", "dev", "--", "variables set -- k --"], "cannot be exactly '--'", id="one-string-dashes"
        ),
        pytest.param(
            ["run", "dev", "--", "variables", "set", "k", "--help"], "would only print the usage", id="help"
        ),
        pytest.param(
            ["trigger", "dev", "d", "--conf-file", "/nonexistent/c.json"], "no such file", id="conf-file"
        ),
    ],
)
def test_remote_cli_edge_cases_are_one_line_errors(
    bare_standin: MwaaStandin, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 1
    assert message in _one_line_error(capsys)
    assert bare_standin.stats.cli_requests == 0


def test_the_inner_double_dash_is_kept() -> None:
    args = build_parser().parse_args(["run", "dev", "--", "variables", "set", "--", "k", "-x"])
    assert args.command == ["variables", "set", "--", "k", "-x"]
    assert commands.raw(args.command).to_shell() == "variables set -- k -x"
    one_string = build_parser().parse_args(["run", "dev", "--", "variables set -- k -x"]).command
    assert commands.raw(one_string[0]).argv == ("variables", "set", "--", "k", "-x")
