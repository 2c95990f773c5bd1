"""The warm CLI server answers like ``python -m airflow`` in the same home, only sooner."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from airflow_mwaa_extras.testing.airflow_cli_server import AirflowCliServer, AirflowCliServerError
from airflow_mwaa_extras.testing.airflow_home import AirflowHome

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(airflow_home: AirflowHome) -> Iterator[AirflowCliServer]:
    running = AirflowCliServer(airflow_home.full_env())
    yield running
    running.stop()


def test_outputs_and_exit_codes_match_the_plain_cli(
    server: AirflowCliServer, airflow_home: AirflowHome
) -> None:
    value = 'it\'s "quoted" $(x) ; é\nnext'
    set_ = server.run(["variables", "set", "--", "mwaa_extras_warm", value], timeout=300)
    assert set_.returncode == 0, set_.stderr.decode()
    warm = server.run(["variables", "get", "mwaa_extras_warm"], timeout=300)
    cold = airflow_home.airflow("variables", "get", "mwaa_extras_warm")
    assert warm.returncode == 0
    assert warm.stdout.decode() == cold.stdout == value + "\n"

    missing = server.run(["variables", "get", "mwaa_extras_no_such_key"], timeout=300)
    plain = airflow_home.airflow("variables", "get", "mwaa_extras_no_such_key", check=False)
    assert missing.returncode == plain.returncode != 0
    assert "does not exist" in missing.stderr.decode()

    listed = server.run(["variables", "list", "--output", "json"], timeout=300)
    assert {"key": "mwaa_extras_warm"} in [{"key": v["key"]} for v in json.loads(listed.stdout)]


def test_a_bad_argument_is_argparse_exit_2_on_stderr(server: AirflowCliServer) -> None:
    result = server.run(["dags", "trigger", "--no-such-flag", "x"], timeout=300)
    assert result.returncode == 2
    assert b"unrecognized arguments" in result.stderr or b"invalid choice" in result.stderr


def test_a_command_over_its_timeout_is_killed(server: AirflowCliServer) -> None:
    started = time.monotonic()
    result = server.run(["variables", "list"], timeout=0.001)
    assert result.returncode == -9
    assert b"timed out" in result.stderr
    assert time.monotonic() - started < 30


def test_a_server_that_cannot_start_says_why() -> None:
    with pytest.raises(AirflowCliServerError, match="did not start"):
        AirflowCliServer({"PATH": "/nonexistent", "PYTHONPATH": "/nonexistent"}, start_timeout=0.01)
