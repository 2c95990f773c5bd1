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
    assert version_compat.AIRFLOW_V_2_10_PLUS is (installed >= (2, 10, 0))
    assert version_compat.AIRFLOW_SUPPORTED is True


# The module each moved name must come from on Airflow 3.1+, 3.0 and 2.
EXPECTED_HOMES = {
    "BaseOperator": ("airflow.sdk", "airflow.sdk", "airflow.models.baseoperator"),
    "BaseHook": ("airflow.sdk", "airflow.hooks.base", "airflow.hooks.base"),
    "BaseSensorOperator": ("airflow.sdk", "airflow.sdk", "airflow.sensors.base"),
    "PythonVirtualenvOperator": (
        "airflow.providers.standard.operators.python",
        "airflow.providers.standard.operators.python",
        "airflow.operators.python",
    ),
    "AirflowPlugin": ("airflow.plugins_manager", "airflow.plugins_manager", "airflow.plugins_manager"),
    "CronTriggerTimetable": ("airflow.sdk", "airflow.timetables.trigger", "airflow.timetables.trigger"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_HOMES))
def test_moved_names_resolve_to_the_version_specific_home(name: str) -> None:
    v31_home, v30_home, v2_home = EXPECTED_HOMES[name]
    if version_compat.AIRFLOW_V_3_1_PLUS:
        home = v31_home
    else:
        home = v30_home if version_compat.AIRFLOW_V_3_0_PLUS else v2_home
    expected = getattr(importlib.import_module(home), name)
    assert getattr(version_compat, name) is expected


@pytest.mark.parametrize(
    ("version", "home"),
    [
        pytest.param((2, 9, 2), "airflow.timetables.trigger", id="2.9.2"),
        pytest.param((3, 0, 6), "airflow.timetables.trigger", id="3.0.6-no-sdk-export"),
        pytest.param((3, 1, 0), "airflow.sdk", id="3.1.0"),
        pytest.param((3, 3, 1), "airflow.sdk", id="3.3.1"),
    ],
)
def test_cron_trigger_timetable_home_per_version(version: tuple[int, int, int], home: str) -> None:
    assert version_compat.home_of("CronTriggerTimetable", version) == home


def test_every_moved_name_imports_on_the_installed_airflow() -> None:
    # A wrong home for this version (e.g. airflow.sdk on 3.0) fails here, on every CI leg.
    for name in version_compat._MOVED:
        assert getattr(version_compat, name) is not None, name


@pytest.mark.parametrize(
    ("version", "refused"),
    [("2.8.4", True), ("2.9.0", False), ("2.9.2", False), ("3.0.0rc1", False), ("2.9.0b1", False)],
)
def test_unsupported_reason_is_one_line_below_the_floor(version: str, refused: bool) -> None:
    reason = version_compat.unsupported_reason(version)
    assert (reason is not None) is refused
    if reason is not None:
        assert reason == f"airflow-mwaa-extras supports Apache Airflow 2.9 and newer; found {version}"


def test_load_dagbag_reads_a_dag_without_warnings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # filterwarnings=error turns the old DagBag import path's warning into a failure on 3.1+.
    (tmp_path / "one.py").write_text(
        "from airflow_mwaa_extras.version_compat import DAG\n"
        "with DAG('parsed_here', schedule=None):\n    pass\n"
    )
    dagbag = version_compat.load_dagbag(tmp_path)
    assert dagbag.import_errors == {}
    assert list(dagbag.dag_ids) == ["parsed_here"]


def test_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = version_compat.NoSuchThing  # type: ignore[attr-defined]
