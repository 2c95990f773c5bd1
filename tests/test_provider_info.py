from __future__ import annotations

import importlib
import json
import pkgutil
from importlib import metadata

import pytest

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


def _listed_modules(kind: str) -> set[str]:
    return {m for entry in get_provider_info()[kind] for m in entry["python-modules"]}


@pytest.mark.parametrize("kind", ["hooks", "operators", "sensors", "triggers"])
def test_every_public_module_is_listed_and_imports(kind: str) -> None:
    package = importlib.import_module(f"airflow_mwaa_extras.{kind}")
    public = {
        f"{package.__name__}.{info.name}"
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_")
    }
    assert _listed_modules(kind) == public
    integrations = {i["integration-name"] for i in get_provider_info()["integrations"]}
    assert {entry["integration-name"] for entry in get_provider_info()[kind]} <= integrations
    for module in public:
        importlib.import_module(module)


def test_no_connection_type_of_our_own() -> None:
    # The hooks reuse `aws`: registering it (or a look-alike) here would shadow the amazon provider's.
    assert "connection-types" not in get_provider_info()
    assert "hook-class-names" not in get_provider_info()


def test_airflow_providers_triggers_and_hooks(airflow_home: AirflowHome) -> None:
    triggers = airflow_home.airflow("providers", "triggers", "-o", "json").stdout
    ours = [
        t for t in json.loads(triggers[triggers.index("[") :]) if t["package_name"] == "airflow-mwaa-extras"
    ]
    assert [t["class"] for t in ours] == ["airflow_mwaa_extras.triggers.remote_dag_run"]
    hooks = airflow_home.airflow("providers", "hooks", "-o", "json").stdout
    by_type = {h["connection_type"]: h for h in json.loads(hooks[hooks.index("[") :])}
    assert by_type["aws"]["package_name"] == "apache-airflow-providers-amazon"
