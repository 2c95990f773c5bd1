from __future__ import annotations

import importlib

import pytest
from packaging.version import Version

from airflow_mwaa_extras import version_compat
from airflow_mwaa_extras.version_compat import release_tuple


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("3.0.0rc1", (3, 0, 0), id="pre-release-counts-as-release"),
        pytest.param("2.10.3", (2, 10, 3), id="plain"),
        pytest.param("3.1", (3, 1, 0), id="short"),
        pytest.param("2.11.0.post1", (2, 11, 0), id="post-release"),
        pytest.param("3.3.1.dev0", (3, 3, 1), id="dev-release"),
    ],
)
def test_release_tuple(text: str, expected: tuple[int, int, int]) -> None:
    assert release_tuple(Version(text)) == expected


def test_flags_match_the_installed_airflow() -> None:
    import airflow

    installed = release_tuple(Version(airflow.__version__))
    assert version_compat.AIRFLOW_VERSION_TUPLE == installed
    assert version_compat.AIRFLOW_V_3_0_PLUS is (installed >= (3, 0, 0))
    assert version_compat.AIRFLOW_V_3_1_PLUS is (installed >= (3, 1, 0))
    assert version_compat.AIRFLOW_V_2_10_PLUS is True


# The module each moved name must come from on each major version.
EXPECTED_HOMES = {
    "BaseOperator": ("airflow.sdk", "airflow.models.baseoperator"),
    "BaseHook": ("airflow.sdk", "airflow.hooks.base"),
    "BaseSensorOperator": ("airflow.sdk", "airflow.sensors.base"),
    "PythonVirtualenvOperator": ("airflow.providers.standard.operators.python", "airflow.operators.python"),
    "AirflowPlugin": ("airflow.plugins_manager", "airflow.plugins_manager"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_HOMES))
def test_moved_names_resolve_to_the_version_specific_home(name: str) -> None:
    v3_home, v2_home = EXPECTED_HOMES[name]
    home = v3_home if version_compat.AIRFLOW_V_3_0_PLUS else v2_home
    expected = getattr(importlib.import_module(home), name)
    assert getattr(version_compat, name) is expected


def test_parse_dag_folder_reads_a_dag_without_warnings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # filterwarnings=error turns the old DagBag import path's warning into a failure on 3.1+.
    (tmp_path / "one.py").write_text(
        "from airflow_mwaa_extras.version_compat import DAG\n"
        "with DAG('parsed_here', schedule=None):\n    pass\n"
    )
    dagbag = version_compat.parse_dag_folder(tmp_path)
    assert dagbag.import_errors == {}
    assert list(dagbag.dag_ids) == ["parsed_here"]


def test_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = version_compat.NoSuchThing  # type: ignore[attr-defined]
