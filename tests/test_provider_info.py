from __future__ import annotations

import json
from importlib import metadata

from airflow_mwaa_extras import __version__
from airflow_mwaa_extras.get_provider_info import get_provider_info
from airflow_mwaa_extras.testing.airflow_home import AirflowHome


def test_provider_info_names_the_distribution_and_version() -> None:
    info = get_provider_info()
    assert info["package-name"] == "airflow-mwaa-extras"
    assert info["versions"] == [__version__]
    assert metadata.version("airflow-mwaa-extras") == __version__


def test_entry_point_points_at_get_provider_info() -> None:
    eps = metadata.entry_points(group="apache_airflow_provider")
    ours = [ep for ep in eps if ep.value.startswith("airflow_mwaa_extras.")]
    assert len(ours) == 1
    assert ours[0].load() is get_provider_info


def test_airflow_providers_list_shows_the_package(airflow_home: AirflowHome) -> None:
    proc = airflow_home.airflow("providers", "list", "-o", "json")
    text = proc.stdout
    providers = json.loads(text[text.index("[") :])
    ours = [p for p in providers if p["package_name"] == "airflow-mwaa-extras"]
    assert ours, f"airflow-mwaa-extras missing from: {[p['package_name'] for p in providers]}"
    assert ours[0]["version"] == __version__
    # Registering must not produce provider import or validation errors.
    assert "airflow-mwaa-extras" not in proc.stderr
