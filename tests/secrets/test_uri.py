from __future__ import annotations

import json
import logging
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_mwaa_extras.secrets.uri import (
    ConnectionParts,
    ConnectionSecretError,
    build_json,
    build_secret,
    build_uri,
    check_uri_text,
    connection_parts,
    parse_secret,
    parts_from_uri,
)

AWKWARD = ConnectionParts(
    conn_id="c",
    conn_type="postgres",
    host="db.example.com",
    login="user@corp",
    password="p@ss:/?#%+ word",
    schema="a/b",
    port=5432,
    extra={"sslmode": "require", "n": {"x": [1, 2]}},
)


@pytest.mark.parametrize("fmt", ["json", "uri"])
def test_awkward_password_survives_both_formats(fmt: str) -> None:
    secret = build_secret(AWKWARD, fmt)
    for parsed in parse_secret("c", secret):
        assert parsed.password == AWKWARD.password
        assert parsed.extra == AWKWARD.extra


def test_the_guides_unencoded_uri_is_rejected_not_misread() -> None:
    # What the guide's str.format script produces for a password with '@' in it.
    with pytest.raises(ConnectionSecretError, match="more than one '@'"):
        parts_from_uri("c", "mysql://AKIA:abc@def@host.example.com:3306")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ('"mysql://a:b@h"', "wrapped in quotes"),
        ("'mysql://a:b@h'", "wrapped in quotes"),
        ("mysql://a b@h", "whitespace"),
        ("mysql://h\n", "whitespace"),
        ("host.example.com", "must start with '<conn-type>://'"),
        ("", "empty"),
    ],
    ids=["double-quotes", "single-quotes", "space", "newline", "no-scheme", "empty"],
)
def test_malformed_uri_text_is_rejected(uri: str, message: str) -> None:
    with pytest.raises(ConnectionSecretError, match=message):
        check_uri_text("c", uri)


def test_error_messages_never_contain_values() -> None:
    parts = ConnectionParts("c", "http", password="hunter2-secret", port=None, extra=None)
    bad = build_uri(parts).replace("http://", "http://x:y@z@")  # corrupt it
    with pytest.raises(ConnectionSecretError) as err:
        parts_from_uri("c", bad)
    assert "hunter2" not in str(err.value)


def test_uri_that_airflow_reads_differently_is_refused_with_field_names() -> None:
    parts = ConnectionParts("c", "my-type", host="h")  # '-' comes back as '_'
    with pytest.raises(ConnectionSecretError, match="different conn_type"):
        build_secret(parts, "uri")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"conn_type": "x", "extra": "[1]"}, "extra must be a JSON object"),
        ({"conn_type": "x", "extra": "{nope"}, "extra is not valid JSON"),
        ({"conn_type": "x", "port": "http"}, "port must be an integer"),
        ({"conn_type": "x", "port": 70000}, "outside 1-65535"),
        ({"host": "h"}, "conn_type is missing"),
        ({"conn_type": "x", "passwd": "p"}, "unknown field"),
        ({"conn_type": "x", "login": 5}, "login must be a string"),
    ],
    ids=["extra-list", "extra-bad-json", "port-text", "port-range", "no-type", "unknown", "login-int"],
)
def test_bad_fields_are_clear_errors(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConnectionSecretError, match=message):
        connection_parts("c", values)


def test_json_secret_holds_only_keys_the_backend_reads() -> None:
    document = json.loads(build_json(AWKWARD))
    assert set(document) <= {"conn_type", "host", "login", "password", "schema", "port", "extra"}
    assert "description" not in document


def test_repr_hides_password_and_extra() -> None:
    text = repr(AWKWARD)
    assert "p@ss" not in text
    assert "sslmode" not in text


def test_extra_values_that_look_like_json_go_into_extra_json() -> None:
    # Airflow 3's core parser decodes "5" to 5 in a query string; __extra__ keeps it a string.
    parts = ConnectionParts("c", "http", host="h", extra={"retries": "5", "name": "plain"})
    assert "__extra__" in build_uri(parts)
    assert build_secret(parts, "uri")


# --- property: generated connections survive the builder and Airflow's parser ---------------

_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
    | st.sampled_from("@:/?#%+ &=;'\""),
    max_size=20,
)
_optional = st.none() | _text
_json_leaf = st.none() | st.booleans() | st.integers(-1000, 1000) | _text
_conn_types = st.sampled_from(["postgres", "mysql", "http", "aws", "google_cloud_platform", "generic", "s3"])
_hosts = st.none() | st.text(alphabet=string.ascii_lowercase + string.digits + ".-", min_size=1, max_size=20)


@st.composite
def connections(draw: st.DrawFn) -> ConnectionParts:
    return ConnectionParts(
        conn_id="generated",
        conn_type=draw(_conn_types),
        host=draw(_hosts),
        login=draw(_optional),
        password=draw(_optional),
        schema=draw(_optional),
        port=draw(st.none() | st.integers(1, 65535)),
        extra=draw(
            st.none() | st.dictionaries(st.text(min_size=1, max_size=8), _json_leaf | _text, max_size=4)
        ),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=connections(), fmt=st.sampled_from(["json", "uri"]))
def test_generated_connections_round_trip_through_airflow(parts: ConnectionParts, fmt: str) -> None:
    secret = build_secret(parts, fmt)  # raises if any Airflow parser reads something else
    for parsed in parse_secret(parts.conn_id, secret):
        assert parsed.effective() == parts.effective()


def test_uri_is_airflows_own_and_underscore_types_log_no_scheme_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Airflow writes "-" for "_" and reads it back; its RFC 3986 warning would only alarm users.
    parts = ConnectionParts("c", "google_cloud_platform", host="h", login="u@x", extra={"a": "b"})
    # Airflow's logging config stops "airflow.*" records short of the root logger: listen on its own.
    logger = logging.getLogger("airflow.models.connection.Connection")
    logger.addHandler(caplog.handler)
    try:
        uri = build_uri(parts)
    finally:
        logger.removeHandler(caplog.handler)
    assert uri == "google-cloud-platform://u%40x@h/?a=b"
    assert "shall not contain" not in caplog.text
