"""The real client decides: after `mwaa-extras secrets migrate` into moto's Secrets Manager, the
amazon provider's own SecretsManagerBackend, configured with exactly what `mwaa-extras secrets
config` printed, returns every connection (all fields, extras included) and variable unchanged.

The source is a real Airflow metadata DB filled by `airflow connections import` / `variables
import`, and the files the real `airflow connections export` / `variables export` write from it.
One interpreter runs those Airflow commands (each Airflow start costs seconds on a busy machine).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_mwaa_extras.cli import main
from airflow_mwaa_extras.testing.airflow_home import AirflowHome, create_airflow_home
from airflow_mwaa_extras.testing.local_aws import LocalAws
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_1_PLUS
from tests.secrets.awkward import (
    AWKWARD_CONNECTIONS,
    AWKWARD_VARIABLES,
    actual_fields,
    effective,
    expected_fields,
)

pytestmark = pytest.mark.slow
MIGRATED = [conn_id for conn_id in AWKWARD_CONNECTIONS if conn_id != "aws_default"]

# Runs several `airflow ...` commands in one interpreter, as the `airflow` entry point would.
AIRFLOW_COMMANDS = r"""
import json, sys
from airflow.cli import cli_parser
parser = cli_parser.get_parser()
for argv in json.loads(sys.argv[1]):
    args = parser.parse_args(argv)
    args.func(args)
"""


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AirflowHome, dict[str, Path]]]:
    """A home whose metadata DB holds the awkward items, and the export files written from it."""
    root = tmp_path_factory.mktemp("secrets-source")
    home = create_airflow_home(root / "airflow")
    conns, variables = root / "import-connections.json", root / "import-variables.json"
    conns.write_text(json.dumps(AWKWARD_CONNECTIONS), encoding="utf-8")
    variables.write_text(json.dumps(AWKWARD_VARIABLES), encoding="utf-8")
    files = {kind: root / f"connections.{kind}" for kind in ("json", "yaml", "env")}
    files["variables"] = root / "variables.json"
    commands = [
        ["connections", "import", str(conns)],
        ["variables", "import", str(variables)],
        *(["connections", "export", str(files[kind])] for kind in ("json", "yaml", "env")),
        ["variables", "export", str(files["variables"])],
    ]
    proc = subprocess.run(
        [sys.executable, "-c", AIRFLOW_COMMANDS, json.dumps(commands)],
        env=home.full_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    yield home, files
    home.cleanup()


def _config_options(*args: str, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """What `mwaa-extras secrets config` prints, as option -> value."""
    capsys.readouterr()
    assert main(["secrets", "config", *args]) == 0
    options = {}
    for line in capsys.readouterr().out.splitlines():
        if not line.startswith("#") and " = " in line:
            key, _, value = line.partition(" = ")
            options[key] = value
    assert set(options) == {"secrets.backend", "secrets.backend_kwargs"}
    return options


def _backends(options: dict[str, str]) -> list[Any]:
    """The backend class the options name, built with their kwargs: once with the core Connection
    class and, on Airflow 3.1+, once with the Task SDK's (what tasks deserialise with there; 3.0's
    task runner takes the backend's core Connection as it is and has no _set_connection_class)."""
    module_name, _, class_name = options["secrets.backend"].rpartition(".")
    backend_class = getattr(importlib.import_module(module_name), class_name)
    kwargs = json.loads(options["secrets.backend_kwargs"])
    backends = [backend_class(**kwargs)]
    if AIRFLOW_V_3_1_PLUS:
        from airflow.sdk.definitions.connection import Connection as SdkConnection

        sdk_backend = backend_class(**kwargs)
        sdk_backend._set_connection_class(SdkConnection)
        backends.append(sdk_backend)
    return backends


def _assert_backend_returns_everything(
    options: dict[str, str], *, exact: bool, exact_variables: bool
) -> None:
    for backend in _backends(options):
        for conn_id in MIGRATED:
            conn = backend.get_connection(conn_id)
            assert conn is not None, conn_id
            want, got = expected_fields(conn_id, AWKWARD_CONNECTIONS[conn_id]), actual_fields(conn)
            if exact:
                assert got == want, conn_id
            else:  # a URI cannot tell an empty field from a missing one
                assert effective(got) == effective(want), conn_id
        assert backend.get_connection("aws_default") is None
        for key, value in AWKWARD_VARIABLES.items():
            stored = backend.get_variable(key)
            if exact_variables:
                assert stored == value, key
            else:
                # `airflow variables export` writes JSON-decodable values decoded (so '"x"' becomes
                # x); the migration stores what `airflow variables import` of that file would.
                try:
                    decoded = json.loads(value)
                except json.JSONDecodeError:
                    decoded = value
                if isinstance(decoded, str):
                    assert stored == decoded, key
                else:
                    assert json.loads(stored) == decoded, key


def test_migration_from_the_metadata_db(
    source: tuple[AirflowHome, dict[str, Path]], aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    home, _ = source
    proc = subprocess.run(
        [sys.executable, "-m", "airflow_mwaa_extras", "secrets", "migrate"],
        env=home.full_env(aws.env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    total = len(MIGRATED) + len(AWKWARD_VARIABLES)
    assert f"{total} create, 0 update, 0 unchanged, 1 skip, 0 invalid" in proc.stdout
    for values in AWKWARD_CONNECTIONS.values():  # values never reach the output
        if values.get("password"):
            assert values["password"] not in proc.stdout + proc.stderr
    for value in AWKWARD_VARIABLES.values():
        if len(value.strip()) > 6:  # short ones such as "14" occur in timestamps
            assert value.strip() not in proc.stdout + proc.stderr
    _assert_backend_returns_everything(_config_options(capsys=capsys), exact=True, exact_variables=True)


@pytest.mark.parametrize("kind", ["json", "yaml", "env"])
@pytest.mark.parametrize("fmt", ["json", "uri"])
def test_migration_from_export_files(
    source: tuple[AirflowHome, dict[str, Path]],
    aws: LocalAws,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    fmt: str,
) -> None:
    _, files = source
    prefixes = ["--connections-prefix", f"{kind}-{fmt}/conn", "--variables-prefix", f"{kind}-{fmt}/var"]
    argv = ["secrets", "migrate", "--quiet", "--format", fmt, *prefixes]
    argv += ["--connections-file", str(files[kind]), "--variables-file", str(files["variables"])]
    assert main(argv) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert AWKWARD_CONNECTIONS["pg_awkward"]["password"] not in out
    # The .env export and the uri format hold URIs, which cannot tell empty fields from missing ones.
    exact = kind != "env" and fmt == "json"
    _assert_backend_returns_everything(
        _config_options(*prefixes, capsys=capsys), exact=exact, exact_variables=False
    )


def test_a_second_run_changes_nothing(
    source: tuple[AirflowHome, dict[str, Path]], aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    _, files = source
    argv = ["secrets", "migrate", "--quiet", "--connections-file", str(files["json"])]
    argv += ["--variables-file", str(files["variables"])]
    assert main(argv) == 0
    sm = aws.client("secretsmanager")
    before = sm.list_secret_version_ids(SecretId="airflow/variables/unicode")["Versions"]
    capsys.readouterr()
    assert main([*argv, "--dry-run"]) == 0
    total = len(MIGRATED) + len(AWKWARD_VARIABLES)
    assert f"0 create, 0 update, {total} unchanged, 1 skip, 0 invalid" in capsys.readouterr().out
    assert main(argv) == 0
    assert "0 written" in capsys.readouterr().out
    after = sm.list_secret_version_ids(SecretId="airflow/variables/unicode")["Versions"]
    assert len(after) == len(before) == 1


def test_dry_run_lists_names_and_writes_nothing(
    source: tuple[AirflowHome, dict[str, Path]], aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    _, files = source
    assert main(["secrets", "migrate", "--dry-run", "--connections-file", str(files["json"])]) == 0
    out = capsys.readouterr().out
    assert "+ airflow/connections/pg_awkward\n" in out
    assert "- airflow/connections/aws_default (MWAA relies on its own aws_default" in out
    assert "nothing written" in out
    assert AWKWARD_CONNECTIONS["pg_awkward"]["password"] not in out
    assert aws.client("secretsmanager").list_secrets()["SecretList"] == []


def test_config_check_names_shows_what_a_pattern_routes(
    source: tuple[AirflowHome, dict[str, Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, files = source
    argv = ["secrets", "config", "--connections-lookup-pattern", "^(pg|mwaa)_", "--check-names"]
    argv += ["--connections-file", str(files["json"]), "--variables-file", str(files["variables"])]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"# connections looked up in Secrets Manager: 2 of {len(AWKWARD_CONNECTIONS)}" in out
    assert "never asks Secrets Manager for: aws_default, empty_fields, gcp_keyfile" in out
    assert (
        f"# variables looked up in Secrets Manager: {len(AWKWARD_VARIABLES)} of {len(AWKWARD_VARIABLES)}"
        in out
    )
