from __future__ import annotations

import pytest
from botocore.stub import Stubber

from airflow_mwaa_extras.secrets.backend_config import BackendConfig
from airflow_mwaa_extras.secrets.migrate import (
    MigrationError,
    MigrationOptions,
    diff_lines,
    plan_migration,
    secret_name_problem,
)
from airflow_mwaa_extras.secrets.migrate_apply import apply_plan
from airflow_mwaa_extras.secrets.sources import SourceConnection, SourceVariable
from airflow_mwaa_extras.secrets.uri import ConnectionParts
from airflow_mwaa_extras.testing.local_aws import LocalAws

CONNS = [
    SourceConnection("db", ConnectionParts("db", "postgres", host="h", password="pw-123456")),
    SourceConnection("aws_default", ConnectionParts("aws_default", "aws")),
    SourceConnection("broken", None, "connection 'broken': extra is not valid JSON"),
    SourceConnection("has space", ConnectionParts("has space", "http")),
]
VARS = [SourceVariable("v1", "value-one"), SourceVariable("v2", "value-two")]


def _actions(plan) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {item.secret_name: item.action for item in plan.items}


def test_first_run_creates_then_nothing_changes(aws: LocalAws) -> None:
    sm = aws.client("secretsmanager")
    options = MigrationOptions(tags={"team": "data"}, workers=2)
    plan = plan_migration(sm, CONNS, VARS, options)
    assert _actions(plan) == {
        "airflow/connections/db": "create",
        "airflow/connections/aws_default": "skip",
        "airflow/connections/broken": "invalid",
        "airflow/connections/has space": "invalid",
        "airflow/variables/v1": "create",
        "airflow/variables/v2": "create",
    }
    result = apply_plan(sm, plan, options)
    assert (result.written, result.failures) == (3, [])
    assert not result.ok  # the invalid items make the run not ok
    assert result.api_calls == 3
    tags = sm.describe_secret(SecretId="airflow/variables/v1")["Tags"]
    assert tags == [{"Key": "team", "Value": "data"}]

    again = plan_migration(sm, CONNS, VARS, options)
    assert [i.action for i in again.items if i.secret_name.startswith("airflow/variables")] == [
        "unchanged"
    ] * 2
    assert apply_plan(sm, again, options).api_calls == 0


def test_changed_value_tags_and_kms_are_updated(aws: LocalAws) -> None:
    sm = aws.client("secretsmanager")
    sm.create_secret(Name="airflow/variables/v1", SecretString="old")
    sm.create_secret(Name="airflow/variables/v2", SecretString="value-two")
    key = aws.client("kms").create_key()["KeyMetadata"]["Arn"]
    options = MigrationOptions(kms_key_id=key, tags={"owner": "me"})
    plan = plan_migration(sm, [], VARS, options)
    reasons = {item.name: item.reason for item in plan.items}
    assert reasons == {"v1": "value, KMS key, tags differ", "v2": "KMS key, tags differ"}
    assert apply_plan(sm, plan, options).failures == []
    assert sm.get_secret_value(SecretId="airflow/variables/v1")["SecretString"] == "value-one"
    assert sm.describe_secret(SecretId="airflow/variables/v2")["KmsKeyId"] == key
    assert {i.action for i in plan_migration(sm, [], VARS, options).items} == {"unchanged"}


def test_on_existing_skip_and_error(aws: LocalAws) -> None:
    sm = aws.client("secretsmanager")
    sm.create_secret(Name="airflow/variables/v1", SecretString="keep me")
    plan = plan_migration(sm, [], VARS, MigrationOptions(on_existing="skip"))
    assert _actions(plan) == {"airflow/variables/v1": "skip", "airflow/variables/v2": "create"}
    with pytest.raises(MigrationError, match=r"1 secret\(s\) already exist: airflow/variables/v1"):
        plan_migration(sm, [], VARS, MigrationOptions(on_existing="error"))


def test_aws_default_is_migrated_only_when_forced(aws: LocalAws) -> None:
    plan = plan_migration(
        aws.client("secretsmanager"), CONNS[:2], [], MigrationOptions(include_aws_default=True)
    )
    assert _actions(plan)["airflow/connections/aws_default"] == "create"


def test_diff_shows_names_and_reasons_never_values(aws: LocalAws) -> None:
    plan = plan_migration(aws.client("secretsmanager"), CONNS, VARS, MigrationOptions())
    text = "\n".join(diff_lines(plan))
    assert "+ airflow/connections/db" in text
    assert "! airflow/connections/broken (connection 'broken': extra is not valid JSON)" in text
    assert "pw-123456" not in text
    assert "value-one" not in text


def test_aws_errors_are_recorded_per_item_and_the_rest_goes_on(aws: LocalAws) -> None:
    sm = aws.client("secretsmanager")
    plan = plan_migration(sm, [], VARS, MigrationOptions())
    stubber = Stubber(sm)
    stubber.add_client_error(
        "create_secret", service_error_code="AccessDeniedException", http_status_code=403
    )
    stubber.add_response("create_secret", {"Name": "airflow/variables/v2"})
    with stubber:
        result = apply_plan(sm, plan, MigrationOptions(workers=1))
    assert len(result.failures) == 1
    assert result.failures[0][1] == "AccessDeniedException"
    assert result.written == 1


def test_empty_variable_is_refused_in_the_plan_as_in_the_run(aws: LocalAws) -> None:
    # Secrets Manager refuses an empty SecretString: the dry run must not promise "create".
    sm = aws.client("secretsmanager")
    variables = [SourceVariable("empty", ""), SourceVariable("v1", "value-one")]
    plan = plan_migration(sm, [], variables, MigrationOptions())
    empty = plan.items[0]
    assert (empty.action, empty.secret_string) == ("invalid", None)
    assert "empty value: Secrets Manager stores at least one character" in empty.reason
    result = apply_plan(sm, plan, MigrationOptions())
    assert (result.written, result.failures, result.ok) == (1, [], False)


def test_one_reason_differs_several_differ(aws: LocalAws) -> None:
    sm = aws.client("secretsmanager")
    sm.create_secret(Name="airflow/variables/v1", SecretString="old")
    plan = plan_migration(sm, [], VARS[:1], MigrationOptions())
    assert plan.items[0].reason == "value differs"


def test_progress_counts_failures_apart(aws: LocalAws) -> None:
    # The CLI printed "2/2 written" when one of the two failed.
    sm = aws.client("secretsmanager")
    plan = plan_migration(sm, [], VARS, MigrationOptions())
    stubber = Stubber(sm)
    stubber.add_client_error(
        "create_secret", service_error_code="AccessDeniedException", http_status_code=403
    )
    stubber.add_response("create_secret", {"Name": "airflow/variables/v2"})
    seen: list[tuple[int, int, int]] = []
    with stubber:
        result = apply_plan(sm, plan, MigrationOptions(workers=1), progress=lambda *a: seen.append(a))
    assert (result.written, len(result.failures)) == (1, 1)
    assert seen == [(1, 2, 1), (2, 2, 1)]


@pytest.mark.parametrize(
    ("name", "problem"),
    [("airflow/connections/ok_name-1.2@x", None), ("a/ü", "only letters"), ("a" * 513, "longer than 512")],
    ids=["ok", "unicode", "too-long"],
)
def test_secret_name_rules(name: str, problem: str | None) -> None:
    found = secret_name_problem(name)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_custom_prefix_and_separator(aws: LocalAws) -> None:
    options = MigrationOptions(config=BackendConfig(variables_prefix="team:vars", sep=":"))
    plan = plan_migration(aws.client("secretsmanager"), [], VARS[:1], options)
    assert plan.items[0].secret_name == "team:vars:v1"
    # ':' is not allowed in a secret name: refused before anything is written
    assert plan.items[0].action == "invalid"


def test_batch_read_denied_falls_back_to_one_by_one(aws: LocalAws) -> None:
    sm = aws.client("secretsmanager")
    sm.create_secret(Name="airflow/variables/v1", SecretString="value-one")
    listing = sm.list_secrets()
    stubber = Stubber(sm)
    stubber.add_response("list_secrets", {"SecretList": listing["SecretList"]})
    stubber.add_client_error("batch_get_secret_value", service_error_code="AccessDeniedException")
    stubber.add_response("get_secret_value", {"Name": "airflow/variables/v1", "SecretString": "value-one"})
    with stubber:
        plan = plan_migration(sm, [], VARS[:1], MigrationOptions())
    assert plan.items[0].action == "unchanged"
