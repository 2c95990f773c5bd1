"""``CliResult.parsed_json``: the one reader of a CLI command's ``--output json`` document."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_mwaa_extras.mwaa.client import CliResult
from airflow_mwaa_extras.mwaa.errors import MwaaProtocolError


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        pytest.param('[{"run_id": "r"}]', [{"run_id": "r"}], id="plain"),
        pytest.param(
            '2025-01-01T00:00:00Z [info     ] a log line [x]\n[{"run_id": "r"}]\n',
            [{"run_id": "r"}],
            id="airflow3-logs",
        ),
        pytest.param('[not json\n{"dag_id": "d"}\n', {"dag_id": "d"}, id="first-line-that-parses"),
        pytest.param("No data found\n", [], id="empty"),
        pytest.param("2025-01-01T00:00:00Z [info     ] loading\nNo data found\n", [], id="empty-after-logs"),
    ],
)
def test_the_json_document_is_found_after_log_lines(stdout: str, expected: Any) -> None:
    assert CliResult("dags list-runs -o json", stdout, "").parsed_json() == expected


def test_no_document_is_a_protocol_error_that_does_not_echo_the_output() -> None:
    result = CliResult("variables get -- token", "s3cr3t-value\n", "")
    with pytest.raises(MwaaProtocolError, match="printed no JSON document") as info:
        result.parsed_json()
    assert "s3cr3t" not in str(info.value)
