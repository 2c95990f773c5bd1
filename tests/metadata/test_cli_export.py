"""``mwaa-extras metadata export`` against a seeded database (direct DB access, as on a laptop)."""

from __future__ import annotations

import pytest

from airflow_mwaa_extras.cli import main
from airflow_mwaa_extras.metadata.manifest import read_manifest
from airflow_mwaa_extras.testing.local_aws import LocalAws
from tests.metadata.conftest import SeededDb


@pytest.mark.parametrize("seeded", ["sqlite"], indirect=True)
def test_cli_export(seeded: SeededDb, aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="exports")
    code = main(
        [
            "metadata",
            "export",
            "--bucket",
            "exports",
            "--sql-alchemy-conn",
            seeded.url,
            "--tables",
            "dag_run,log",
            "--format",
            "jsonl",
            "--run-id",
            "cli",
            "--key-template",
            "cli/{attempt}/{table}.{ext}",
            "--manifest-key-template",
            "cli/{attempt}/manifest.json",
            "--endpoint-url",
            aws.endpoint_url,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    manifest_key = out.split("manifest\ts3://exports/")[1].strip()
    manifest = read_manifest(s3, "exports", manifest_key)
    assert manifest.attempt
    assert manifest_key == f"cli/{manifest.attempt}/manifest.json"
    assert [o.key for o in manifest.objects] == [
        f"cli/{manifest.attempt}/dag_run.jsonl",
        f"cli/{manifest.attempt}/log.jsonl",
    ]
    assert manifest.objects[0].rows == seeded.summary.dag_runs
    assert f"dag_run\t{seeded.summary.dag_runs} rows" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sql-alchemy-conn", "nosuchdb://x"], "cannot use the database URL"),
        (["--sql-alchemy-conn", "sqlite:////nonexistent/dir/x.db"], "cannot read the database"),
        (["--sql-alchemy-conn", "sqlite://", "--key-template", "{nope}"], "unknown placeholder"),
        (["--sql-alchemy-conn", "sqlite://", "--key-template", "x/{table}.csv"], "has no {attempt}"),
        (["--sql-alchemy-conn", "sqlite://", "--older-than-days", "-1"], "must be >= 0"),
    ],
    ids=["scheme", "unreachable", "template", "collision", "days"],
)
def test_cli_errors_are_one_line(
    aws: LocalAws, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = main(["metadata", "export", "--bucket", "exports", "--endpoint-url", aws.endpoint_url, *argv])
    err = capsys.readouterr().err
    assert code == 1
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
