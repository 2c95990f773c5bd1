"""What the metadata operators need from Airflow: the metadata DB engine, S3, and on Airflow 3
the environment's REST API and CLI endpoint (tasks there may not use the ORM)."""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_mwaa_extras.exceptions import UsageError
from airflow_mwaa_extras.version_compat import AIRFLOW_V_3_0_PLUS, BaseHook

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from airflow_mwaa_extras.hooks.mwaa_environment import MwaaEnvironmentHook
    from airflow_mwaa_extras.metadata.rest_export import PageFetcher
    from airflow_mwaa_extras.mwaa.client import MwaaEnvironmentClient

__all__ = ["MetadataDbHook"]


class MetadataDbHook(BaseHook):
    """Access to the metadata DB (Airflow 2) or to the environment that owns it (Airflow 3).

    :param aws_conn_id: the Airflow ``aws`` connection for S3 and MWAA.
    :param region_name: the AWS region; the connection's when not given.
    :param environment_name: the MWAA environment (Airflow 3); ``$AIRFLOW_ENV_NAME`` when empty,
        which MWAA sets in its own containers.
    """

    def __init__(
        self,
        *,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        environment_name: str | None = None,
    ) -> None:
        super().__init__()
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self._environment_name = environment_name

    @property
    def environment_name(self) -> str:
        name = self._environment_name or os.environ.get("AIRFLOW_ENV_NAME", "")
        if not name:
            raise UsageError(
                "on Airflow 3 give environment_name (or set AIRFLOW_ENV_NAME): tasks may not use the ORM"
            )
        return name

    @property
    def uses_database(self) -> bool:
        """Whether this task may read the metadata DB directly (Airflow 2)."""
        return not AIRFLOW_V_3_0_PLUS

    @cached_property
    def engine(self) -> Engine:
        if not self.uses_database:
            raise UsageError("Airflow 3 tasks may not use the metadata DB directly")
        from airflow import settings

        engine: Engine | None = settings.engine
        if engine is None:
            raise UsageError("Airflow's metadata DB engine is not configured in this process")
        return engine

    @cached_property
    def s3_client(self) -> Any:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=self.aws_conn_id, region_name=self.region_name).get_conn()

    @cached_property
    def _mwaa(self) -> MwaaEnvironmentHook:
        from airflow_mwaa_extras.hooks.mwaa_environment import MwaaEnvironmentHook

        return MwaaEnvironmentHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name)

    def environment_client(self) -> MwaaEnvironmentClient:
        """The CLI-endpoint client of the environment (``db clean`` runs there)."""
        return self._mwaa.get_environment_client(self.environment_name)

    def rest_fetcher(self) -> PageFetcher:
        """``fetch(path, params)`` through MWAA's InvokeRestApi."""
        client = self._mwaa.get_rest_api_client(self.environment_name)
        return lambda path, params: client.get(path, params)
