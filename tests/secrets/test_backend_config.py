from __future__ import annotations

import json

import pytest
from packaging.version import Version

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.secrets.backend_config import (
    BACKEND_CLASS,
    BackendConfig,
    check_provider_support,
    config_from_kwargs,
    installed_amazon_provider,
    mwaa_amazon_provider,
)


def test_options_are_the_two_mwaa_configuration_options() -> None:
    config = BackendConfig(connections_lookup_pattern="^prod_")
    options = config.options()
    assert options["secrets.backend"] == BACKEND_CLASS
    assert json.loads(options["secrets.backend_kwargs"]) == {
        "connections_prefix": "airflow/connections",
        "variables_prefix": "airflow/variables",
        "connections_lookup_pattern": "^prod_",
    }
    assert config.env()["AIRFLOW__SECRETS__BACKEND"] == BACKEND_CLASS


def test_routing_matches_the_backend_case_insensitively_from_the_start() -> None:
    config = BackendConfig(connections_lookup_pattern="^prod_", variables_lookup_pattern="api")
    assert config.routes("connection", "PROD_db")
    assert not config.routes("connection", "dev_prod_db")
    assert config.routes("variable", "api_key")
    assert not config.routes("variable", "my_api_key")  # re.match anchors at the start


def test_a_null_prefix_routes_nothing_and_cannot_be_migrated_into() -> None:
    config = config_from_kwargs('{"connections_prefix": null}')
    assert not config.routes("connection", "anything")
    with pytest.raises(UsageError, match="prefix is null"):
        config.connection_secret_name("x")


def test_trailing_separator_is_stripped_like_the_backend_does() -> None:
    assert BackendConfig(variables_prefix="team/vars/").variable_secret_name("k") == "team/vars/k"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"connections_lookup_pattern": "(unclosed"}', "does not compile"),
        ('{"variables_prefix": 5}', "must be a string or null"),
    ],
    ids=["bad-json", "not-object", "bad-regex", "bad-type"],
)
def test_bad_backend_kwargs_are_clear_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        config_from_kwargs(text)


def test_lookup_patterns_need_provider_7_3_0() -> None:
    config = BackendConfig(variables_lookup_pattern="^x")
    with pytest.raises(UsageError, match=">= 7.3.0; the target has 7.2.0"):
        check_provider_support(config, Version("7.2.0"))
    assert check_provider_support(config, Version("7.3.0")) == []
    assert check_provider_support(BackendConfig(), Version("7.2.0")) == []


def test_mwaa_versions_map_to_the_provider_they_ship() -> None:
    assert mwaa_amazon_provider("2.10.3") == Version("9.0.0")
    assert mwaa_amazon_provider("3.3.1") == Version("9.34.0")
    with pytest.raises(UsageError, match="unknown MWAA Airflow version '1.10.12'"):
        mwaa_amazon_provider("1.10.12")


def test_installed_provider_supports_lookup_patterns() -> None:
    provider = installed_amazon_provider()
    assert provider is not None
    check_provider_support(BackendConfig(connections_lookup_pattern="^a"), provider)
