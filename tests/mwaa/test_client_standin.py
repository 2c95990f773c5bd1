"""End to end: the client, the stand-in's HTTP endpoint, and the real ``airflow`` CLI of a second home."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from airflow_mwaa_extras.mwaa import commands
from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient
from airflow_mwaa_extras.mwaa.errors import MwaaCliError
from airflow_mwaa_extras.testing.mwaa_standin import MwaaStandin, start_mwaa_standin
from airflow_mwaa_extras.testing.mwaa_standin_target import run_conf
from tests.remote_envs import TARGET, RemoteEnv

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def standin(remote_env: RemoteEnv) -> Iterator[MwaaStandin]:
    with start_mwaa_standin({"remote": remote_env.home}) as running:
        yield running


@pytest.fixture(scope="module")
def client(standin: MwaaStandin) -> MwaaEnvironmentClient:
    return MwaaEnvironmentClient(
        "remote", endpoint_url=standin.endpoint_url, region_name="us-east-1", timeout=900
    )


NASTY_CONF = {
    "quote'": 'say "hi"; echo $(id) `id` && rm -rf / \n next line',
    "ünï": ["日本", "🚀", {"nested": "\\n is not a newline, \n is", "n": 1.5}],
    "--conf": None,
}
_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=20
)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(conf=NASTY_CONF)
@given(conf=st.dictionaries(_text, _text | st.integers() | st.booleans(), min_size=1, max_size=3))
def test_the_remote_run_gets_the_conf_byte_for_byte(
    remote_env: RemoteEnv, client: MwaaEnvironmentClient, conf: dict[str, Any]
) -> None:
    home = remote_env.home
    run_id = f"manual__{uuid.uuid4().hex}"
    cmd = commands.dags_trigger(TARGET, airflow_version=client.airflow_version, conf=conf, run_id=run_id)
    client.run(cmd)
    assert run_conf(home, TARGET, run_id) == conf


def test_variables_round_trip_and_failures_carry_stderr(client: MwaaEnvironmentClient) -> None:
    value = 'it\'s a "value" with $(whoami) and `ls` ; and\nnewline é'
    client.run(commands.variables_set("mwaa_extras_e2e", value))
    got = client.run(commands.variables_get("mwaa_extras_e2e"))
    assert got.stdout.rstrip("\n").endswith(value)
    with pytest.raises(MwaaCliError) as info:
        client.run(commands.variables_get("mwaa_extras_missing"))
    assert "does not exist" in info.value.stderr
    assert info.value.command == "variables get -- mwaa_extras_missing"


def test_list_runs_parses_with_the_environments_dialect(
    client: MwaaEnvironmentClient, standin: MwaaStandin
) -> None:
    runs = client.run(commands.dags_list_runs(TARGET, airflow_version=client.airflow_version)).parsed_json()
    assert isinstance(runs, list)
    assert all(run["dag_id"] == TARGET for run in runs)
    assert standin.stats.cli_expired_token == 0
    assert standin.stats.cli_503 == 0
    assert client.stats.max_token_age_at_send < 60


def test_two_triggers_in_one_second_both_create_a_run(
    remote_env: RemoteEnv, client: MwaaEnvironmentClient
) -> None:
    # Airflow's CLI zeroes the logical date's microseconds unless told not to, and a DAG's
    # logical dates are unique: without --no-replace-microseconds the second run is lost.
    home = remote_env.home
    first = datetime.now(UTC).replace(microsecond=123456)
    sent = {f"manual__{uuid.uuid4().hex}": first + timedelta(microseconds=n) for n in range(2)}
    for index, (run_id, logical_date) in enumerate(sent.items()):
        cmd = commands.dags_trigger(
            TARGET,
            airflow_version=client.airflow_version,
            conf={"n": index},
            run_id=run_id,
            logical_date=logical_date,
        )
        client.run(cmd)
    assert [run_conf(home, TARGET, run_id) for run_id in sent] == [{"n": 0}, {"n": 1}]


def test_a_dead_warm_cli_server_falls_back_to_a_process_per_command(remote_env: RemoteEnv) -> None:
    with start_mwaa_standin({"crashy": remote_env.home}) as standin:
        crashy = MwaaEnvironmentClient("crashy", endpoint_url=standin.endpoint_url, region_name="us-east-1")
        crashy.run(commands.variables_set("mwaa_extras_fallback", "v1"))
        env = standin.environments["crashy"]
        assert env.cli_server is not None
        env.cli_server.process.kill()
        env.cli_server.process.wait()
        got = crashy.run(commands.variables_get("mwaa_extras_fallback"))
        assert got.stdout.rstrip("\n").endswith("v1")
        assert env.cli_server is None
        assert env.cli_server_failed
