"""Connections and variables that break naive URI handling; shared by the secrets tests."""

from __future__ import annotations

import json
from typing import Any

# conn_id -> the fields `airflow connections import` takes (extra as a JSON string).
AWKWARD_CONNECTIONS: dict[str, dict[str, Any]] = {
    "pg_awkward": {
        "conn_type": "postgres",
        "host": "db.internal.example.com",
        "login": "etl user@corp",
        "password": "p@ss:/?#%+ w0rd&=;",
        "schema": "analytics/prod",
        "port": 5432,
        "extra": json.dumps({"sslmode": "require", "options": "-c search_path=a b"}),
    },
    "unicode_http": {
        "conn_type": "http",
        "host": "https://bücher.example/api v1",
        "login": "jürgen",
        "password": "пароль 密码 🔑+/=",
        "extra": json.dumps({"headers": {"X-Token": "t+/= ü"}, "retries": 3, "verify": False}),
    },
    "empty_fields": {
        "conn_type": "generic",
        "host": "",
        "login": "",
        "password": "",
        "schema": "",
        "extra": "",
    },
    "mwaa_role": {
        "conn_type": "aws",
        "extra": json.dumps(
            {
                "role_arn": "arn:aws:iam::001122332255:role/service-role/AmazonMWAA-MyAirflowEnvironment-iAaaaA",
                "region_name": "us-east-1",
            }
        ),
    },
    "gcp_keyfile": {
        "conn_type": "google_cloud_platform",
        "extra": json.dumps(
            {"keyfile_dict": json.dumps({"private_key": "-----BEGIN KEY-----\nabc+/=\n-----END KEY-----\n"})}
        ),
    },
    "password_only": {"conn_type": "redis", "host": "cache", "password": "only-a-password %41", "port": 6379},
    # MWAA relies on its own aws_default: migrated only with --include-aws-default.
    "aws_default": {"conn_type": "aws", "extra": json.dumps({"region_name": "us-east-1"})},
}

AWKWARD_VARIABLES: dict[str, str] = {
    "plain_number": "14",
    "quoted_string": '"mystring"',
    "json_object": '{"a": [1, 2], "b": "ü"}',
    "spaces": "  leading and trailing  ",
    "unicode": "日本語 ✓ @:/?#%+",
    "multiline": "line one\nline two\n",
}

FIELDS = ("conn_type", "host", "login", "password", "schema", "port")


def expected_fields(conn_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """The connection as Airflow itself holds it (Airflow stores an empty password as None)."""
    from airflow.models.connection import Connection

    return actual_fields(Connection(conn_id=conn_id, **values))


def actual_fields(conn: Any) -> dict[str, Any]:
    fields = {name: getattr(conn, name) for name in FIELDS}
    fields["extra"] = conn.extra_dejson
    return fields


def effective(fields: dict[str, Any]) -> dict[str, Any]:
    """Empty strings count as unset (the URI form cannot tell them apart)."""
    return {name: (value if value not in ("", None) else None) for name, value in fields.items()}
