from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.secrets.sources import connections_from_file, variables_from_file


def test_env_file_with_a_quoted_uri_marks_that_connection_invalid(tmp_path: Path) -> None:
    path = tmp_path / "c.env"
    path.write_text('# comment\n\ngood=postgres://u:p%40w@h:5432/db\nquoted="mysql://a:b@h"\n')
    found = {c.conn_id: c for c in connections_from_file(path)}
    assert found["good"].parts is not None
    assert found["good"].parts.password == "p@w"
    assert found["quoted"].parts is None
    assert "wrapped in quotes" in (found["quoted"].error or "")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("c.txt", "{}", "unknown file type .txt"),
        ("c.json", "{broken", "not valid JSON"),
        ("c.yaml", "a: [", "not valid YAML"),
        ("c.json", "[1, 2]", "expected a mapping"),
        ("c.env", "no equals sign", "expected NAME=VALUE"),
        ("c.env", "a=1\na=2", "appears more than once"),
        ("c.json", "", "the file is empty"),
        ("c.yaml", " \n", "the file is empty"),
    ],
    ids=["suffix", "json", "yaml", "list", "env-line", "env-dup", "empty-json", "empty-yaml"],
)
def test_unreadable_files_are_one_line_errors(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        connections_from_file(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        variables_from_file(tmp_path / "none.json")


def test_variables_export_values_are_stored_as_variables_import_would(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text(
        json.dumps({"n": 14, "obj": {"a": "ü"}, "s": "text", "described": {"value": "v", "description": "d"}})
    )
    values = {v.key: v.value for v in variables_from_file(path)}
    assert values == {"n": "14", "obj": '{"a": "ü"}', "s": "text", "described": "v"}
