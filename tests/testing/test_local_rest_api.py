"""The local REST API is the real one of a local Airflow home, with authentication on."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.local_rest_api import (
    LocalRestApi,
    LocalRestApiError,
    start_local_rest_api,
)
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS

DAG_SOURCE = """
from __future__ import annotations
import datetime
from airflow_mwaa_extras.version_compat import DAG, PythonOperator

with DAG("rest_api_probe", schedule=None, start_date=datetime.datetime(2024, 1, 1), catchup=False):
    PythonOperator(task_id="noop", python_callable=lambda: None)
"""


@pytest.fixture(scope="module")
def rest_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowHome]:
    from airflow_mwaa_extras.testing.airflow_home import create_airflow_home

    root = tmp_path_factory.mktemp("rest-home")
    dags = root / "dags"
    dags.mkdir()
    (dags / "rest_api_probe.py").write_text(DAG_SOURCE)
    home = create_airflow_home(root / "home", dags_folder=dags)
    home.airflow("dags", "reserialize")
    yield home
    home.cleanup()


@pytest.fixture(scope="module")
def rest_api(rest_home: AirflowHome) -> Iterator[LocalRestApi]:
    api = start_local_rest_api(rest_home)
    yield api
    api.stop()


def test_serves_the_version_of_the_installed_airflow(rest_api: LocalRestApi) -> None:
    expected = "v2" if AIRFLOW_V_3_0_PLUS else "v1"
    assert rest_api.base_url.startswith("http://127.0.0.1:")
    assert rest_api.base_url.endswith(f"/api/{expected}")
    assert rest_api.api_version == expected
    dags = rest_api.get_json("/dags")
    assert [dag["dag_id"] for dag in dags["dags"]] == ["rest_api_probe"]


def test_requests_without_credentials_are_refused(rest_api: LocalRestApi) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{rest_api.base_url}/dags", timeout=10)
    assert info.value.code in (401, 403)


def test_trigger_and_read_back_a_run_with_unicode_conf(rest_api: LocalRestApi) -> None:
    conf = {"nested": {"list": [1, "two", None]}, "quote": 'it\'s "quoted"', "text": "Grüße ✓"}
    body: dict[str, object] = {"dag_run_id": "probe-run-1", "conf": conf}
    if AIRFLOW_V_3_0_PLUS:
        body["logical_date"] = "2024-02-01T00:00:00Z"
    status, created = rest_api.request("POST", "/dags/rest_api_probe/dagRuns", body=body)
    assert status == 200, created
    run = rest_api.get_json("/dags/rest_api_probe/dagRuns/probe-run-1")
    assert run["dag_run_id"] == "probe-run-1"
    assert run["conf"] == conf
    assert run["state"] == "queued"
    listed = rest_api.get_json("/dags/rest_api_probe/dagRuns", {"limit": 5})
    assert [r["dag_run_id"] for r in listed["dag_runs"]] == ["probe-run-1"]


def test_errors_come_back_with_the_remote_status(rest_api: LocalRestApi) -> None:
    status, payload = rest_api.request("GET", "/dags/no_such_dag")
    assert status == 404
    assert payload
    with pytest.raises(LocalRestApiError, match="HTTP 404"):
        rest_api.get_json("/dags/no_such_dag/dagRuns/nope")


def test_stop_ends_the_process(make_airflow_home: Callable[..., AirflowHome], tmp_path: Path) -> None:
    home = make_airflow_home("stop-home", dags_folder=tmp_path / "empty-dags")
    api = start_local_rest_api(home)
    assert api.process.poll() is None
    api.stop()
    assert api.process.poll() is not None
    with pytest.raises(urllib.error.URLError, match="refused"):
        urllib.request.urlopen(f"{api.base_url}/dags", timeout=5)


# --- the stand-in's InvokeRestApi, forwarded to this REST API (both Airflow versions) --------


@pytest.fixture
def standin_env(rest_home: AirflowHome, rest_api: LocalRestApi) -> Iterator[AirflowHome]:
    from airflow_mwaa_extras.testing import standin_rest_api

    standin_rest_api.register_local_rest_api("env-probe", rest_home, rest_api)
    yield rest_home
    standin_rest_api.stop_local_rest_apis("env-probe")  # forgets it: the module fixture owns it


def test_invoke_rest_api_success_shape(standin_env: AirflowHome) -> None:
    from airflow_mwaa_extras.testing.standin_rest_api import handle_invoke_rest_api

    status, body = handle_invoke_rest_api(
        "env-probe", standin_env, {"Path": "/dags", "Method": "GET", "QueryParameters": {"limit": 5}}
    )
    assert status == 200
    assert body["RestApiStatusCode"] == 200
    assert [d["dag_id"] for d in body["RestApiResponse"]["dags"]] == ["rest_api_probe"]


def test_invoke_rest_api_forwards_a_post_body_intact(
    standin_env: AirflowHome, rest_api: LocalRestApi
) -> None:
    from airflow_mwaa_extras.testing.standin_rest_api import handle_invoke_rest_api

    conf = {"nested": {"a": [1, None]}, "q": 'it\'s "x" $(y)', "t": "東京 ✓"}
    body: dict[str, object] = {"dag_run_id": "via-standin", "conf": conf}
    if AIRFLOW_V_3_0_PLUS:
        body["logical_date"] = "2024-03-01T00:00:00Z"
    status, answer = handle_invoke_rest_api(
        "env-probe", standin_env, {"Path": "/dags/rest_api_probe/dagRuns", "Method": "POST", "Body": body}
    )
    assert status == 200, answer
    assert answer["RestApiResponse"]["dag_run_id"] == "via-standin"
    assert rest_api.get_json("/dags/rest_api_probe/dagRuns/via-standin")["conf"] == conf


@pytest.mark.parametrize(
    ("request_body", "status", "error_type", "remote_status"),
    [
        pytest.param(
            {"Path": "/dags/no_such_dag", "Method": "GET"}, 400, "RestApiClientException", 404, id="404"
        ),
        pytest.param(
            {"Path": "/" + "x" * 64, "Method": "GET"}, 400, "ValidationException", None, id="path-65"
        ),
        pytest.param({"Path": "/dags", "Method": "HEAD"}, 400, "ValidationException", None, id="method"),
    ],
)
def test_invoke_rest_api_errors_look_like_mwaa(
    standin_env: AirflowHome,
    request_body: dict[str, object],
    status: int,
    error_type: str,
    remote_status: int | None,
) -> None:
    from airflow_mwaa_extras.testing.standin_rest_api import handle_invoke_rest_api

    got_status, body = handle_invoke_rest_api("env-probe", standin_env, request_body)
    assert got_status == status
    assert body["__type"] == error_type
    assert body.get("RestApiStatusCode") == remote_status
    if remote_status is not None:
        # the remote Airflow's own error body: v1 has title/status/detail, v2 has detail
        assert "not found" in str(body["RestApiResponse"]).lower()
