"""``_local_run.py``, the one process ``local test`` runs in the environment: on Airflow 3 the
in-process Task Execution API of ``dag.test()`` is built for the newest API version only, and
still answers this Airflow's own client (the end-to-end runs are in ``test_local.py``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS

RUNNER = Path(__file__).resolve().parents[2] / "src" / "airflow_mwaa_extras" / "deploy" / "_local_run.py"


def _runner() -> ModuleType:
    # Loaded by path, as the environment's Python runs it (it is not imported as a package module).
    spec = importlib.util.spec_from_file_location("_local_run_under_test", RUNNER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="Airflow 3's Task Execution API")
def test_the_in_process_execution_api_is_built_for_the_newest_version_only_and_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import cadwyn.applications
    import httpx
    from airflow.api_fastapi.execution_api.app import InProcessExecutionAPI
    from airflow.sdk.api.datamodels._generated import API_VERSION

    every_version = cadwyn.applications.generate_versioned_routers
    built: list[tuple[str, ...]] = []

    def record(router: Any, versions: Any, **kwargs: Any) -> Any:
        built.append(tuple(str(v.value) for v in versions.versions))
        return every_version(router, versions, **kwargs)

    monkeypatch.setattr(cadwyn.applications, "generate_versioned_routers", record)  # restored afterwards
    _runner().newest_execution_api_only()
    api = InProcessExecutionAPI()
    with httpx.Client(transport=api.transport, base_url="http://in-process") as client:
        response = client.get("/health", headers={"Airflow-API-Version": API_VERSION})
    assert response.status_code == 200, response.text
    assert built == [(API_VERSION,)]


def test_the_runner_imports_nothing_from_the_package() -> None:
    """The environment's Python has no airflow-mwaa-extras: the script must stand alone."""
    text = RUNNER.read_text()
    assert "airflow_mwaa_extras" not in text
