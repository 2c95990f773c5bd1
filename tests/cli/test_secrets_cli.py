from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_mwaa_extras.cli import main
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.local_aws import LocalAws


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["secrets", "config", "--connections-lookup-pattern", "(x"], "does not compile"),
        (["secrets", "config", "--backend-kwargs", "{x"], "not valid JSON"),
        (
            ["secrets", "config", "--variables-lookup-pattern", "^a", "--provider-version", "7.2.0"],
            ">= 7.3.0; the target has 7.2.0",
        ),
        (["secrets", "config", "--mwaa-version", "9.9.9"], "unknown MWAA Airflow version '9.9.9'"),
        (["secrets", "migrate", "--connections-file", "/nonexistent.json", "--dry-run"], "no such file"),
        (
            ["secrets", "migrate", "--tag", "novalue", "--connections-file", "x.json"],
            "--tag expects KEY=VALUE",
        ),
    ],
    ids=["bad-regex", "bad-kwargs", "old-provider", "unknown-mwaa", "missing-file", "bad-tag"],
)
def test_bad_input_is_one_line_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    err = _error(capsys)
    assert err.startswith("mwaa-extras: error: ")
    assert message in err
    assert len(err.splitlines()) == 1


def test_config_json_and_env_outputs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["secrets", "config", "--output", "json", "--mwaa-version", "2.10.3"]) == 0
    out = capsys.readouterr()
    options = json.loads(out.out)
    assert set(options) == {"secrets.backend", "secrets.backend_kwargs"}
    assert "# MWAA 2.10.3: apache-airflow-providers-amazon 9.0.0" in out.err
    assert main(["secrets", "config", "--output", "env"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("AIRFLOW__SECRETS__BACKEND=airflow.providers.amazon")
    assert lines[1].startswith("AIRFLOW__SECRETS__BACKEND_KWARGS={")


def test_migrate_reports_invalid_items_and_exits_1(
    tmp_path: Path, aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    conns = tmp_path / "c.json"
    conns.write_text(
        json.dumps(
            {"ok": {"conn_type": "http", "password": "pw-abcdef"}, "bad": {"conn_type": "x", "extra": "[1]"}}
        )
    )
    assert main(["secrets", "migrate", "--connections-file", str(conns)]) == 1
    out = capsys.readouterr().out
    assert "! airflow/connections/bad (connection 'bad': extra must be a JSON object" in out
    assert "1 create, 0 update, 0 unchanged, 0 skip, 1 invalid; 1 written, 0 failed" in out
    assert "pw-abcdef" not in out


def test_unreachable_endpoint_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    variables = tmp_path / "v.json"
    variables.write_text('{"a": "b"}')
    argv = ["secrets", "migrate", "--variables-file", str(variables), "--endpoint-url", "http://127.0.0.1:9"]
    assert main(argv) == 1
    assert "reading Secrets Manager failed: EndpointConnectionError" in _error(capsys)


def test_secrets_help_lists_both_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["secrets", "--help"])
    out = capsys.readouterr().out
    assert "migrate" in out
    assert "config" in out


MIGRATE_FROM_DB = "import sys; from airflow_mwaa_extras.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.mark.slow
def test_migrate_from_the_db_prints_only_the_plan_on_stdout(
    make_airflow_home: Callable[..., AirflowHome], aws: LocalAws
) -> None:
    # Airflow's logging config prints INFO on stdout: botocore's "Found credentials in
    # environment variables" used to land in the middle of the plan.
    home = make_airflow_home("secrets-db")
    home.airflow("variables", "set", "greeting", "hello")
    proc = subprocess.run(
        [sys.executable, "-c", MIGRATE_FROM_DB, "secrets", "migrate", "--dry-run"],
        env=home.full_env(aws.env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines() == [
        "+ airflow/variables/greeting",
        "dry run: 1 create, 0 update, 0 unchanged, 0 skip, 0 invalid; nothing written",
    ]
