"""L0: talking to MWAA (CLI token + /aws_mwaa/cli, InvokeRestApi). boto3 and stdlib only:
no Airflow import, so the same code serves hooks, the CLI and an AWS Lambda function."""

from __future__ import annotations
