from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_mwaa_extras.exceptions import MwaaExtrasError
from airflow_mwaa_extras.hooks.secrets_manager import (
    MaskedSecretsManagerHook,
    SecretNotFoundError,
    get_masked_secret,
)
from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.local_aws import LocalAws
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_1_PLUS

SECRET = "s3cr3t-Value @:/?#%+ ünï"


def _redact(text: str) -> str:
    """What Airflow's masker (the one task logs go through) makes of ``text``."""
    if AIRFLOW_V_3_1_PLUS:
        from airflow.sdk._shared.secrets_masker import _secrets_masker
    elif AIRFLOW_V_3_0_PLUS:  # 3.0 (MWAA 3.0.6) kept the Task SDK's masker here
        from airflow.sdk.execution_time.secrets_masker import _secrets_masker
    else:
        from airflow.utils.log.secrets_masker import _secrets_masker
    return str(_secrets_masker().redact(text))


def test_get_secret_masks_the_value(aws: LocalAws) -> None:
    aws.client("secretsmanager").create_secret(Name="hook/plain", SecretString=SECRET)
    value = get_masked_secret("hook/plain")
    assert value == SECRET
    assert _redact(f"token={value}") == "token=***"


def test_json_secret_masks_every_string_even_under_harmless_keys(aws: LocalAws) -> None:
    document = {"endpoint_token": "abcdef-123456", "nested": {"note": "ghijkl-789012"}, "port": 5432}
    aws.client("secretsmanager").create_secret(Name="hook/json", SecretString=json.dumps(document))
    got = MaskedSecretsManagerHook(aws_conn_id="aws_default").get_secret_as_dict("hook/json")
    assert got == document
    assert _redact("a abcdef-123456 b ghijkl-789012") == "a *** b ***"


def test_variable_secret_uses_the_backend_layout(aws: LocalAws) -> None:
    aws.client("secretsmanager").create_secret(Name="team/vars/api_key", SecretString="key-998877")
    hook = MaskedSecretsManagerHook(aws_conn_id="aws_default")
    assert hook.get_variable_secret("api_key", variables_prefix="team/vars/") == "key-998877"
    assert "key-998877" not in _redact("key-998877")


def test_missing_secret_is_a_clear_error(aws: LocalAws) -> None:
    with pytest.raises(SecretNotFoundError, match="secret 'hook/none' not found in Secrets Manager"):
        get_masked_secret("hook/none")


def test_non_json_secret_is_a_clear_error(aws: LocalAws) -> None:
    aws.client("secretsmanager").create_secret(Name="hook/text", SecretString="not json at all")
    with pytest.raises(MwaaExtrasError, match="does not hold JSON"):
        MaskedSecretsManagerHook(aws_conn_id="aws_default").get_secret_as_dict("hook/text")


@pytest.mark.slow
def test_example_dag_masks_the_secret_in_the_task_log(airflow_home: AirflowHome, aws: LocalAws) -> None:
    """The example DAG reads a migrated variable and prints it: the task log shows *** instead.

    `airflow tasks test` masks task output like a worker does (`airflow dags test` masks nothing
    on Airflow 2, and on Airflow 3 only a worker's supervisor masks logger records).
    """
    key = "mwaa_extras_example_api_key"
    aws.client("secretsmanager").create_secret(Name=f"airflow/variables/{key}", SecretString=SECRET)
    proc = airflow_home.airflow(
        "tasks",
        "test",
        "example_mwaa_extras_secrets",
        "use_secret",
        check=False,
        timeout=300,
        extra_env=aws.env,
    )
    logs = [p.read_text(errors="replace") for p in Path(airflow_home.path, "logs").rglob("*") if p.is_file()]
    task_logs = [text for text in logs if "MWAA_EXTRAS_SECRET" in text]
    everything = "\n".join([proc.stdout, proc.stderr, *task_logs])
    assert proc.returncode == 0, everything[-3000:]
    assert "MWAA_EXTRAS_SECRET calling the API with key=***" in everything
    assert SECRET not in everything
    assert "s3cr3t-Value" not in everything
