from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime

import pytest

from airflow_mwaa_extras.mwaa import commands as c
from airflow_mwaa_extras.mwaa.errors import MwaaError, UnsupportedCommandError
from airflow_mwaa_extras.mwaa.supported_commands import SUPPORTED_COMMANDS
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_VERSION
from tests.mwaa.airflow_parser import airflow_parser, parse_remote

INSTALLED = str(AIRFLOW_VERSION)

_KEEP_US = "--no-replace-microseconds"


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (
            "2.10.3",
            (
                "dags",
                "trigger",
                "--output=json",
                _KEEP_US,
                "--exec-date=2024-01-02T00:00:00+00:00",
                "--",
                "d",
            ),
        ),
        (
            "3.3.1",
            (
                "dags",
                "trigger",
                "--output=json",
                _KEEP_US,
                "--logical-date=2024-01-02T00:00:00+00:00",
                "--",
                "d",
            ),
        ),
    ],
    ids=["airflow2", "airflow3"],
)
def test_trigger_logical_date_dialect(version: str, expected: tuple[str, ...]) -> None:
    cmd = c.dags_trigger("d", airflow_version=version, logical_date=datetime(2024, 1, 2, tzinfo=UTC))
    assert cmd.argv == expected


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("2.10.3", ("dags", "list-runs", "--output=json", "--dag-id=my_dag")),
        ("3.0.6", ("dags", "list-runs", "--output=json", "--", "my_dag")),
    ],
    ids=["airflow2", "airflow3"],
)
def test_list_runs_dialect(version: str, expected: tuple[str, ...]) -> None:
    assert c.dags_list_runs("my_dag", airflow_version=version).argv == expected


def test_builders_parse_with_the_installed_airflow() -> None:
    when = datetime(2024, 1, 2, tzinfo=UTC)
    trigger = parse_remote(
        c.dags_trigger(
            "-odd id", airflow_version=INSTALLED, conf={"k": [1, "x"]}, run_id="-r", logical_date=when
        ).argv
    )
    assert (trigger.dag_id, json.loads(trigger.conf), trigger.run_id) == ("-odd id", {"k": [1, "x"]}, "-r")
    assert trigger.replace_microseconds is False
    parsed_date = trigger.logical_date if AIRFLOW_V_3_0_PLUS else trigger.exec_date
    assert parsed_date in (when, when.isoformat())
    runs = parse_remote(c.dags_list_runs("dag.a", airflow_version=INSTALLED, state="failed").argv)
    assert (runs.dag_id, runs.state, runs.output) == ("dag.a", "failed", "json")
    assert parse_remote(c.dags_pause("p").argv).dag_id == "p"
    assert parse_remote(c.dags_unpause("p").argv).dag_id == "p"
    state = parse_remote(c.dags_state("s", "2024-01-02").argv)
    assert state.dag_id == "s"
    setv = parse_remote(c.variables_set("--key", {"n": 1}, description="d").argv)
    assert (setv.key, setv.value, setv.description) == ("--key", '{"n": 1}', "d")
    assert parse_remote(c.variables_get("k").argv).key == "k"
    assert parse_remote(c.variables_delete("k").argv).key == "k"
    assert parse_remote(c.variables_list().argv).output == "json"
    conn = parse_remote(c.connections_add("aws_x", uri="aws://a:b%2Fc@").argv)
    assert (conn.conn_id, conn.conn_uri) == ("aws_x", "aws://a:b%2Fc@")
    fields = parse_remote(c.connections_add("h", conn_type="http", host="h", password="-p w").argv)
    assert (fields.conn_type, fields.conn_host, fields.conn_password) == ("http", "h", "-p w")
    assert parse_remote(c.connections_delete("h").argv).conn_id == "h"
    clean = parse_remote(c.db_clean(when, tables=["log", "job"], dry_run=True, skip_archive=True).argv)
    assert (clean.tables, clean.dry_run, clean.skip_archive, clean.yes) == (["log", "job"], True, True, True)
    states = parse_remote(c.tasks_states_for_dag_run("d", "manual__1").argv)
    assert states.dag_id == "d"


def test_to_shell_round_trips_and_display_hides_secrets() -> None:
    cmd = c.connections_add("c", conn_type="http", login="me", password="s3cr;t $(x)")
    assert shlex.split(cmd.to_shell()) == list(cmd.argv)
    assert "s3cr" not in cmd.display()
    assert "--conn-password=***" in cmd.display()
    assert "me" in str(cmd)
    variable = c.variables_set("k", "top secret")
    assert "top secret" not in variable.display()


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ("{not json", "conf is not valid JSON"),
        ("[1, 2]", "conf must be a JSON object"),
        ({"x": float("nan")}, "conf cannot be written as JSON"),
    ],
    ids=["syntax", "not-object", "nan"],
)
def test_invalid_conf_is_one_clear_error(conf: object, message: str) -> None:
    with pytest.raises(c.InvalidCommandArgumentError, match=message) as info:
        c.dags_trigger("d", airflow_version="2.10.3", conf=conf)  # type: ignore[arg-type]
    assert isinstance(info.value, MwaaError)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("value", "message"),
    [("a\x00b", "NUL"), ("\ud800", "surrogate"), ("", "must not be empty"), ("--", "exactly '--'")],
    ids=["nul", "surrogate", "empty", "double-dash"],
)
def test_arguments_no_command_line_can_carry_are_refused(value: str, message: str) -> None:
    with pytest.raises(c.InvalidCommandArgumentError, match=message):
        c.dags_trigger(value, airflow_version="3.3.1")


@pytest.mark.parametrize(
    ("command", "version"),
    [
        ("dags trigger x", "2.0.2"),
        ("dags list-runs -d x", "2.2.2"),
        ("db clean --clean-before-timestamp 2024-01-01", "2.4.3"),
        ("roles add-perms Op", "2.10.3"),
        ("dags backfill x", "2.10.3"),
        ("backfill create --dag-id x", "3.0.6"),
        ("version", "3.3.1"),
        ("tasks states-for-dag-run d r", "3.3.1"),
    ],
)
def test_supported_commands(command: str, version: str) -> None:
    c.check_supported(command, version)


@pytest.mark.parametrize(
    ("command", "version", "message"),
    [
        ("variables import vars.json", "2.10.3", "mwaa-extras variables import"),
        ("connections list", "2.10.3", "does not run 'airflow connections list'"),
        ("db clean --yes", "2.2.2", "needs Airflow 2.4 or newer"),
        ("dags backfill x", "3.0.6", "backfill create"),
        ("users list", "3.3.1", "does not run 'airflow users list'"),
        ("trigger_dag x", "1.10.12", "MWAA environments run Airflow 2.x or 3.x"),
        ("webserver", "2.10.3", "does not run 'airflow webserver'"),
        ("", "2.10.3", "empty Airflow command"),
    ],
)
def test_unsupported_commands_are_refused(command: str, version: str, message: str) -> None:
    with pytest.raises(UnsupportedCommandError, match=message):
        c.check_supported(command, version)


def test_every_table_entry_exists_in_the_installed_airflow_cli() -> None:
    # The table for this major version must name only commands the real CLI has.
    major = 3 if AIRFLOW_V_3_0_PLUS else 2
    groups = airflow_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in SUPPORTED_COMMANDS[major]:
        first, _, second = name.partition(" ")
        if first == "roles":  # added by the FAB auth manager's CLI, not loaded under pytest
            continue
        assert first in groups, name
        if second:
            sub = groups[first]._subparsers._group_actions[0].choices
            assert second in sub, name


def test_raw_commands_drop_a_leading_airflow_and_reject_unbalanced_quotes() -> None:
    assert c.raw("airflow dags list").argv == ("dags", "list")
    assert c.raw(["variables", "get", "k v"]).to_shell() == "variables get 'k v'"
    with pytest.raises(c.InvalidCommandArgumentError, match="cannot split"):
        c.raw("dags trigger 'x")


def test_version_strings_are_validated() -> None:
    with pytest.raises(c.InvalidCommandArgumentError, match="not an Airflow version"):
        c.dags_trigger("x", airflow_version="latest")


@pytest.mark.parametrize("value", ["a\nb", "x\r"])
def test_names_with_line_breaks_are_refused_in_one_line(value: str) -> None:
    with pytest.raises(c.InvalidCommandArgumentError, match="contains a line break") as info:
        c.dags_trigger(value, airflow_version="2.10.3")
    assert "\n" not in str(info.value)
