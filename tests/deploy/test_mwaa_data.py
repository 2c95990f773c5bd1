from __future__ import annotations

import pytest

from airflow_mwaa_extras.deploy import mwaa_data
from airflow_mwaa_extras.exceptions import UsageError

URL_2103 = "https://raw.githubusercontent.com/apache/airflow/constraints-2.10.3/constraints-3.11.txt"


def test_shipped_lists_cover_every_supported_version_in_version_order() -> None:
    # 2.9.2 before 2.10.3: versions sort as versions, not as text.
    assert mwaa_data.supported_versions() == ("2.9.2", "2.10.3", "2.11.2", "3.0.6", "3.2.1", "3.3.1")
    for version in mwaa_data.supported_versions():
        assert mwaa_data.essential_pins(version)["apache-airflow"] == version
        assert "boto3" in mwaa_data.airflow_constraints(version)
        for name in (
            mwaa_data.AIRFLOW_CONSTRAINTS,
            mwaa_data.ESSENTIAL_CONSTRAINTS,
            mwaa_data.BASE_REQUIREMENTS,
            mwaa_data.BASE_RESOLVED,
        ):
            assert mwaa_data.constraints_file(version, name).is_file()
    assert mwaa_data.python_version_for("2.10.3") == "3.11"
    assert mwaa_data.python_version_for("3.3.1") == "3.12"
    assert mwaa_data.expected_constraint_url("2.10.3") == URL_2103


def test_constraint_url_names_its_versions() -> None:
    assert mwaa_data.constraint_url_versions(URL_2103) == ("2.10.3", "3.11")
    assert mwaa_data.constraint_url_versions("s3://bucket/my-constraints.txt") is None


def test_unknown_version_is_a_usage_error_naming_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown MWAA Airflow version '9\.9\.9'; known: 2\.9\.2, 2\.10\.3"):
        mwaa_data.constraints_file("9.9.9")


def test_default_airflow_version_is_the_installed_one() -> None:
    from airflow_mwaa_extras.version_compat import AIRFLOW_VERSION

    assert mwaa_data.default_airflow_version(None) == str(AIRFLOW_VERSION)
    assert mwaa_data.default_airflow_version("3.0.6") == "3.0.6"
