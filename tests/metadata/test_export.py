"""Streaming export to S3 (moto) from seeded SQLite and PostgreSQL metadata databases."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, event

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.metadata.export import ExportSettings, export_metadata, window_condition
from airflow_mwaa_extras.metadata.manifest import read_manifest
from airflow_mwaa_extras.metadata.readers import FETCH_SIZE, stream_rows
from airflow_mwaa_extras.metadata.s3_upload import MultipartUploadWriter, S3UploadError
from airflow_mwaa_extras.metadata.tables import reflect_schema
from airflow_mwaa_extras.testing.local_aws import LocalAws
from tests.metadata.conftest import NOW, TASKS_PER_RUN, SeededDb, rows, s3_body

NEWER = NOW - timedelta(days=90)
OLDER = NOW - timedelta(days=30)
RUN_ID = "manual__2026-06-30T12:00:00+00:00"


def as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=NOW.tzinfo)


def expected_runs(seeded: SeededDb) -> set[tuple[str, str]]:
    engine = seeded.engine()
    with engine.connect() as conn:
        date_col = reflect_schema(conn).run_date_column
    return {
        (dag_id, run_id)
        for dag_id, run_id, when in rows(engine, f"SELECT dag_id, run_id, {date_col} FROM dag_run")
        if NEWER <= as_utc(when) < OLDER
    }


def parse_csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))


@pytest.mark.parametrize("method", ["auto", "portable"])
def test_csv_export_holds_exactly_the_window(seeded: SeededDb, aws: LocalAws, method: str) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="exports")
    engine = seeded.engine()
    result = export_metadata(
        engine,
        s3,
        ExportSettings(bucket="exports", run_id=RUN_ID, method=method),
        newer_than=NEWER,
        older_than=OLDER,
    )

    date = NOW.__class__.now(NOW.tzinfo).strftime("%Y-%m-%d")
    safe = "manual__2026-06-30T12_00_00_00_00"
    with engine.connect() as conn:
        has_task_fail = reflect_schema(conn).has_table("task_fail")
    tables = ["dag_run", "task_instance", "log"] + (["task_fail"] if has_task_fail else [])
    assert sorted(o.table for o in result.manifest.objects) == sorted(tables)
    attempt = result.manifest.attempt
    assert result.manifest_key == f"airflow-metadata/_manifests/standalone/{safe}/export/{attempt}.json"
    for obj in result.manifest.objects:
        assert obj.key == f"airflow-metadata/{obj.table}/{date}/standalone/{safe}/export/{attempt}.csv"
        body = s3_body(s3, "exports", obj.key)
        assert obj.bytes == len(body)
        assert obj.sha256 == hashlib.sha256(body).hexdigest()
        assert obj.rows == len(parse_csv(body))
    assert read_manifest(s3, "exports", result.manifest_key) == result.manifest

    by_table = {o.table: parse_csv(s3_body(s3, "exports", o.key)) for o in result.manifest.objects}
    runs = expected_runs(seeded)
    assert len(runs) > 400
    assert {(r["dag_id"], r["run_id"]) for r in by_table["dag_run"]} == runs
    assert len(by_table["dag_run"]) == len(runs)
    assert {(r["dag_id"], r["run_id"], r["task_id"]) for r in by_table["task_instance"]} == {
        (d, r, f"task_{t}") for d, r in runs for t in range(TASKS_PER_RUN)
    }
    expected_logs = {
        str(i) for i, when in rows(engine, "SELECT id, dttm FROM log") if NEWER <= as_utc(when) < OLDER
    }
    assert {r["id"] for r in by_table["log"]} == expected_logs

    with engine.connect() as conn:
        schema = reflect_schema(conn)
    first = by_table["dag_run"][0]
    assert list(first) == [c.name for c in schema.table("dag_run").c]  # the DB's columns, no ORM internals
    when = datetime.fromisoformat(first[schema.run_date_column].replace("Z", "+00:00"))
    assert first[schema.run_date_column].endswith("Z")
    assert NEWER <= when < OLDER
    assert first["state"] in {"success", "failed"}
    log = by_table["log"][0]
    assert json.loads(log["extra"]) == {"host": "scheduler-1", "note": 'ran, "as planned"'}


def test_jsonl_gzip_export(seeded: SeededDb, aws: LocalAws) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="exports")
    settings = ExportSettings(
        bucket="exports",
        fmt="jsonl",
        gzip=True,
        run_id="r1",
        key_template="meta/{table}/{run_id}-{attempt}.{ext}",
        manifest_key_template="meta/{run_id}-{attempt}-manifest.json",
    )
    result = export_metadata(
        seeded.engine(), s3, settings, tables=["dag_run", "log"], newer_than=NEWER, older_than=OLDER
    )
    attempt = result.manifest.attempt
    assert result.manifest_key == f"meta/r1-{attempt}-manifest.json"
    assert [o.key for o in result.manifest.objects] == [
        f"meta/dag_run/r1-{attempt}.jsonl.gz",
        f"meta/log/r1-{attempt}.jsonl.gz",
    ]
    assert result.manifest.compression == "gzip"
    records = [
        json.loads(line)
        for line in gzip.decompress(
            s3_body(s3, "exports", f"meta/dag_run/r1-{attempt}.jsonl.gz")
        ).splitlines()
    ]
    assert {(r["dag_id"], r["run_id"]) for r in records} == expected_runs(seeded)
    assert all(r["start_date"].endswith("Z") for r in records)
    logs = [
        json.loads(line)
        for line in gzip.decompress(s3_body(s3, "exports", f"meta/log/r1-{attempt}.jsonl.gz")).splitlines()
    ]
    assert json.loads(logs[0]["extra"]) == {"host": "scheduler-1", "note": 'ran, "as planned"'}
    assert result.manifest.objects[1].rows == len(logs)


def test_copy_and_portable_paths_write_the_same_rows(seeded: SeededDb, aws: LocalAws) -> None:
    if seeded.backend != "postgres":
        pytest.skip("COPY exists only on PostgreSQL")
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="exports")
    bodies = {}
    for method in ("copy", "portable"):
        for fmt in ("csv", "jsonl"):
            settings = ExportSettings(
                bucket="exports",
                fmt=fmt,
                method=method,
                run_id=method,
                key_template="{run_id}/{attempt}/{table}.{ext}",
            )
            result = export_metadata(
                seeded.engine(), s3, settings, tables=["dag_run", "task_instance", "log"], older_than=OLDER
            )
            for obj in result.manifest.objects:
                bodies[(method, fmt, obj.table)] = s3_body(s3, "exports", obj.key)
    with seeded.engine().connect() as conn:
        schema = reflect_schema(conn)
    for table in ("dag_run", "task_instance", "log"):
        # JSON columns are the same JSON; PostgreSQL may space it differently (jsonb's text form).
        json_cols = [c.name for c in schema.table(table).c if isinstance(c.type, JSON)]

        def normal(row: dict[str, str], json_cols: list[str] = json_cols) -> dict[str, Any]:
            return {k: (json.loads(v) if k in json_cols and v else v) for k, v in row.items()}

        copy, portable = bodies[("copy", "csv", table)], bodies[("portable", "csv", table)]
        assert [normal(r) for r in parse_csv(copy)] == [normal(r) for r in parse_csv(portable)], table
        copy, portable = bodies[("copy", "jsonl", table)], bodies[("portable", "jsonl", table)]
        assert [json.loads(x) for x in copy.splitlines()] == [json.loads(x) for x in portable.splitlines()], (
            table
        )


def test_multipart_upload_of_a_large_object(aws: LocalAws) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="exports")
    chunk = b"x" * (1024 * 1024)
    with MultipartUploadWriter(s3, "exports", "big.csv", part_size=5 * 1024 * 1024) as writer:
        for _ in range(11):
            writer.write(chunk)
    assert writer.result is not None
    assert writer.result.bytes == 11 * len(chunk)
    head = s3.head_object(Bucket="exports", Key="big.csv")
    assert head["ContentLength"] == 11 * len(chunk)
    assert head["ETag"].strip('"').endswith("-3")  # three parts: 5 + 5 + 1 MiB


def test_failed_upload_leaves_no_object_and_no_manifest(seeded: SeededDb, aws: LocalAws) -> None:
    s3 = aws.client("s3")
    with pytest.raises(S3UploadError, match="NoSuchBucket"):
        export_metadata(seeded.engine(), s3, ExportSettings(bucket="missing-bucket"), older_than=OLDER)
    s3.create_bucket(Bucket="exports")
    writer = MultipartUploadWriter(s3, "exports", "partial.csv", part_size=5 * 1024 * 1024)
    writer.write(b"y" * (6 * 1024 * 1024))  # one part uploaded
    writer.__exit__(S3UploadError, S3UploadError("stop"), None)  # what an error in the block does
    assert "Contents" not in s3.list_objects_v2(Bucket="exports")
    assert s3.list_multipart_uploads(Bucket="exports").get("Uploads", []) == []


@pytest.mark.parametrize(
    ("settings", "window", "message"),
    [
        (ExportSettings(bucket="b", key_template="{table}/{when}.csv"), {}, "unknown placeholder"),
        (ExportSettings(bucket="b", fmt="parquet"), {}, "unknown export format"),
        (ExportSettings(bucket="b", method="fast"), {}, "unknown read method"),
        (ExportSettings(bucket="b"), {"older_than": datetime(2026, 1, 1)}, "timezone-aware"),
        (ExportSettings(bucket="b"), {"newer_than": OLDER, "older_than": NEWER}, "must be before"),
    ],
    ids=["placeholder", "format", "method", "naive", "inverted"],
)
def test_bad_input_is_a_usage_error(
    seeded: SeededDb, aws: LocalAws, settings: ExportSettings, window: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        export_metadata(seeded.engine(), aws.client("s3"), settings, **window)


def test_unknown_table_is_a_usage_error(seeded: SeededDb, aws: LocalAws) -> None:
    with pytest.raises(UsageError, match="unsupported table 'dag_tags'"):
        export_metadata(seeded.engine(), aws.client("s3"), ExportSettings(bucket="b"), tables=["dag_tags"])


def test_the_portable_path_streams_from_a_server_side_cursor(seeded: SeededDb) -> None:
    """Rows reach the sink one batch at a time, never the whole table at once (flat memory)."""
    engine = seeded.engine()
    cursors: list[tuple[bool, Any]] = []

    def on_execute(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM task_instance" in statement:
            cursors.append((bool(context.execution_options.get("stream_results")), cursor))

    event.listen(engine, "before_cursor_execute", on_execute)
    lines: list[int] = []

    class Sink:
        def write(self, data: bytes) -> int:
            lines.append(data.count(b"\n"))
            return len(data)

    with engine.connect() as conn, conn.begin():
        schema = reflect_schema(conn)
        spec = schema.spec("task_instance")
        count = stream_rows(
            conn, schema, spec, [window_condition(spec, None, None)], "csv", Sink(), method="portable"
        )
    assert count == seeded.summary.task_instances > 2 * FETCH_SIZE
    assert lines[0] == 1  # the header
    assert sum(lines[1:]) == count
    assert max(lines[1:]) <= FETCH_SIZE
    assert len(cursors) == 1
    assert cursors[0][0]  # stream_results asked for
    if seeded.backend == "postgres":
        assert cursors[0][1].name  # psycopg2 named cursor: the server keeps the result


def test_a_part_failing_in_the_uploader_thread_stops_the_writer(aws: LocalAws) -> None:
    """Parts go up from a thread: its failure reaches the writer as one error, and nothing stays."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="exports")
    sent = {"parts": 0}

    def second_part_fails(params: dict[str, Any], **_: Any) -> None:
        sent["parts"] += 1
        if sent["parts"] == 2:
            raise ConnectionResetError("connection reset by peer")

    s3.meta.events.register("provide-client-params.s3.UploadPart", second_part_fails)
    writer = MultipartUploadWriter(s3, "exports", "failing.csv", part_size=5 * 1024 * 1024)
    with pytest.raises(S3UploadError, match=r"^uploading s3://exports/failing.csv failed: connection reset"):
        with writer:
            _write_mib(writer, 40)  # 8 parts; it stops after the failure
    assert sent["parts"] == 2
    assert "Contents" not in s3.list_objects_v2(Bucket="exports")
    assert s3.list_multipart_uploads(Bucket="exports").get("Uploads", []) == []


def _write_mib(writer: MultipartUploadWriter, mib: int) -> None:
    for _ in range(mib):
        writer.write(b"z" * (1024 * 1024))
