"""Apply a migration plan: write its ``create`` and ``update`` items to AWS Secrets Manager.

Each item is written once, in parallel; a failure is recorded by name and AWS error code and the
rest go on. Values never appear in a result, a log line or an exception message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.secrets.migrate import (
    CREATE,
    INVALID,
    MigrationOptions,
    MigrationPlan,
    PlannedSecret,
)

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
else:
    SecretsManagerClient = Any

__all__ = ["MigrationResult", "apply_plan", "count_api_calls"]


@dataclass
class MigrationResult:
    """What :func:`apply_plan` did: counts per action, failures (names and AWS error codes)."""

    counts: dict[str, int]
    written: int
    failures: list[tuple[str, str]]
    seconds: float
    api_calls: int

    @property
    def ok(self) -> bool:
        return not self.failures and self.counts.get(INVALID, 0) == 0


def _write(client: SecretsManagerClient, item: PlannedSecret, options: MigrationOptions) -> None:
    assert item.secret_string is not None
    tags = [{"Key": k, "Value": v} for k, v in sorted(options.tags.items())]
    if item.action == CREATE:
        kwargs: dict[str, Any] = {
            "Name": item.secret_name,
            "SecretString": item.secret_string,
            "Description": f"Airflow {item.kind} {item.name} (written by airflow-mwaa-extras)",
        }
        if options.kms_key_id:
            kwargs["KmsKeyId"] = options.kms_key_id
        if tags:
            kwargs["Tags"] = tags
        client.create_secret(**kwargs)
        return
    if item.set_kms:
        # UpdateSecret stores a new version encrypted with the new key.
        client.update_secret(
            SecretId=item.secret_name, SecretString=item.secret_string, KmsKeyId=options.kms_key_id or ""
        )
    elif item.write_value:
        client.put_secret_value(SecretId=item.secret_name, SecretString=item.secret_string)
    if item.add_tags:
        client.tag_resource(
            SecretId=item.secret_name, Tags=[{"Key": k, "Value": v} for k, v in sorted(item.add_tags.items())]
        )


def count_api_calls(client: Any) -> Callable[[], int]:
    """Count the API calls ``client`` makes from now on (a botocore ``before-call`` hook)."""
    lock = threading.Lock()
    calls = [0]

    def _count(**_: Any) -> None:
        with lock:
            calls[0] += 1

    client.meta.events.register("before-call", _count)
    return lambda: calls[0]


def apply_plan(
    client: SecretsManagerClient,
    plan: MigrationPlan,
    options: MigrationOptions,
    progress: Callable[[int, int, int], None] | None = None,
) -> MigrationResult:
    """Write the ``create`` and ``update`` items; a failure is recorded and the rest go on.

    :param progress: called with (items done, items to write, failures so far) after each item
    """
    from botocore.exceptions import BotoCoreError, ClientError

    started = time.monotonic()
    calls = count_api_calls(client)
    todo = plan.to_write()
    failures: list[tuple[str, str]] = []
    done = 0

    def run(item: PlannedSecret) -> tuple[PlannedSecret, str | None]:
        try:
            _write(client, item, options)
        except ClientError as err:
            return item, str(err.response.get("Error", {}).get("Code", "ClientError"))
        except BotoCoreError as err:
            return item, type(err).__name__
        return item, None

    with ThreadPoolExecutor(max_workers=options.workers) as pool:
        for future in as_completed([pool.submit(run, item) for item in todo]):
            item, error = future.result()
            done += 1
            if error:
                failures.append((item.secret_name, error))
            if progress is not None:
                progress(done, len(todo), len(failures))
    failures.sort()
    return MigrationResult(
        counts=plan.counts(),
        written=len(todo) - len(failures),
        failures=failures,
        seconds=time.monotonic() - started,
        api_calls=calls(),
    )
