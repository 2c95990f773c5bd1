from __future__ import annotations

import logging
import os
import time

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from airflow_mwaa_extras.testing.local_aws import CLOSED_ENDPOINT, LocalAws, fake_credentials_env


def test_moto_serves_s3_cloudwatch_and_secrets_on_loopback(aws: LocalAws) -> None:
    assert aws.endpoint_url.startswith("http://127.0.0.1:")
    assert os.environ["AWS_ENDPOINT_URL"] == aws.endpoint_url
    # A plain boto3 client picks the endpoint up from the environment, as Airflow's hooks do.
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="probe")
    s3.put_object(Bucket="probe", Key="k", Body=b"v")
    assert s3.get_object(Bucket="probe", Key="k")["Body"].read() == b"v"
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    sm.create_secret(Name="probe", SecretString="x")
    assert sm.get_secret_value(SecretId="probe")["SecretString"] == "x"
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    cw.put_metric_data(Namespace="Probe", MetricData=[{"MetricName": "m", "Value": 1.0}])
    assert [m["MetricName"] for m in cw.list_metrics(Namespace="Probe")["Metrics"]] == ["m"]


def test_reset_forgets_resources(aws: LocalAws) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="gone")
    aws.reset()
    assert s3.list_buckets()["Buckets"] == []


def test_without_moto_boto3_fails_fast_on_a_closed_loopback_port(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in fake_credentials_env().items():
        monkeypatch.setenv(key, value)
    assert os.environ["AWS_ENDPOINT_URL"] == CLOSED_ENDPOINT
    s3 = boto3.client("s3", region_name="us-east-1", config=boto3.session.Config(retries={"max_attempts": 1}))
    started = time.monotonic()
    with pytest.raises(EndpointConnectionError):
        s3.list_buckets()
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_request_log_only_when_asked(verbose: bool, caplog: pytest.LogCaptureFixture) -> None:
    # The demo printed a werkzeug line per request between its own lines.
    from airflow_mwaa_extras.testing.local_aws import start_local_aws

    aws = start_local_aws(verbose=verbose)
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            aws.client("s3").list_buckets()
    finally:
        aws.stop()
    requests = [r for r in caplog.records if r.name == "werkzeug" and '"GET / HTTP' in r.getMessage()]
    assert len(requests) == (1 if verbose else 0)
